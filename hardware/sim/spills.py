"""ALI spills the simulated phone system sends, in the "30W" text layout used by real CPE.

Column positions follow ../shared/reference/ali-formats.md section 4.1. Every record is fictional:
numbers are from the 555-01xx range, names and addresses made up for "Demo County".
"""

from __future__ import annotations

import time
from dataclasses import dataclass

STX, ETX = b"\x02", b"\x03"
CRLF = "\r\n"


@dataclass(frozen=True)
class SimRecord:
    ani: str  # 10 digits
    cos: str  # 4-letter class of service
    name: str
    house: str = ""
    street: str = ""
    prefix: str = ""
    location: str = ""  # wireline: unit/floor; wireless: built from callback
    community: str = "DEMO CITY"
    state: str = "CO"
    esn: str = "00311"
    company: str = "DEMO"
    callback: str = ""  # wireless handset number, 10 digits
    lat: float | None = None
    lon: float | None = None
    uncertainty_m: int | None = None
    psap: str = "DEMO--DEMO COUNTY ECC"
    agencies: tuple[str, ...] = ("DEMO CITY PD", "DEMO CITY FD", "DEMO COUNTY EMS")


def _phone(ten: str) -> str:
    return f"({ten[:3]}) {ten[3:6]}-{ten[6:]}"


def format_30w(record: SimRecord, header: str, when: float | None = None) -> str:
    """The spill's text lines (no STX/ETX), lines joined by CR LF."""
    stamp = time.localtime(when if when is not None else time.time())
    lines = [
        header[:4].ljust(4),
        f"{_phone(record.ani)} {record.cos:<4} {time.strftime('%m/%d %H:%M', stamp)}",
        record.name[:28].ljust(28),
        f"{record.house[:10]:>10}{'':7}P#{record.ani[:3]}-{record.ani[3:6]}-{record.ani[6:]}",
        f"{record.prefix[:2]:<2} {record.street[:22]:<22}",
        " " * 20,
    ]
    if record.callback:
        loc = f"CALLBK=({record.callback[:3]}){record.callback[3:6]}-{record.callback[6:]}"
    else:
        loc = record.location
    lines.append(f"{loc[:20]:<20}  261 {record.esn:>5}")
    lines.append(f"{record.state:<2} {record.community[:28]:<28}")
    lines.append(f"{'':18}TEL={record.company[:5]:<5}")
    if record.lat is not None and record.lon is not None:
        unc = "" if record.uncertainty_m is None else str(record.uncertainty_m)
        lines.append(f"{record.lat:+10.6f}  {record.lon:+11.6f} {unc:>7} ")
    else:
        lines.append(" " * 31)
    lines.append(f"PSAP={record.psap}")
    lines.extend(record.agencies)
    return CRLF.join(lines)


def frame(text: str, with_bcc: bool = True) -> bytes:
    """STX text ETX [BCC], BCC being the XOR of every byte after STX up to and including ETX."""
    body = text.encode("ascii", errors="replace") + ETX
    if not with_bcc:
        return STX + body
    bcc = 0
    for byte in body:
        bcc ^= byte
    return STX + body + bytes([bcc])


HEARTBEAT = "H"

# A small cast of callers for the demo. A wireless Phase I record is later rebid as Phase II.
DEMO_RECORDS: tuple[SimRecord, ...] = (
    SimRecord("7195550101", "RESD", "DOE, JANE", "1000", "OAK VALLEY DR", esn="00220", company="CTLQ",
              agencies=("DEMO CITY PD", "DEMO CITY FD", "DEMO COUNTY EMS")),
    SimRecord("7195550102", "BUSN", "DEMO COUNTY SCHOOL DIST 11", "4410", "ACADEMY BLVD", prefix="N",
              location="BLDG C", esn="00231", company="CTLQ"),
    SimRecord("7195550103", "WPH1", "DEMO WIRELESS CO", "", "MAIN ST - NE SECTOR", callback="7195550153",
              lat=38.9, lon=-104.8, uncertainty_m=2070, company="DMOW", esn="00311",
              agencies=("VERIFY PD", "VERIFY FD", "VERIFY EMS")),
    SimRecord("7195550104", "WPH2", "DEMO WIRELESS CO", "", "PINE CREEK RD", callback="7195550154",
              lat=38.921, lon=-104.744, uncertainty_m=12, company="DMOW", esn="00311",
              agencies=("VERIFY PD", "VERIFY FD", "VERIFY EMS")),
    SimRecord("7195550105", "VOIP", "DEMO VOICE SERVICES", "250", "CENTER AVE", location="SUITE 200",
              esn="05025", company="DVOIP", lat=38.84, lon=-104.82, uncertainty_m=0),
    SimRecord("7195550106", "PBXB", "DEMO COUNTY JUSTICE CENTER", "2739", "JUSTICE WAY", prefix="E",
              location="3RD FLOOR", esn="00220", company="CTLQP"),
)


def rebid_of(record: SimRecord) -> SimRecord | None:
    """The Phase II record a Phase I call turns into on rebid, or None."""
    if record.cos != "WPH1":
        return None
    return SimRecord(
        record.ani, "WPH2", record.name, "", "MAIN ST", callback=record.callback,
        lat=38.9034, lon=-104.8121, uncertainty_m=9, company=record.company, esn=record.esn,
        agencies=record.agencies,
    )
