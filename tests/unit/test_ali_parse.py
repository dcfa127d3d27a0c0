"""Table-driven ALI parsing: every reference sample, fuzzing, hostile text, the CLI.

Expected records are written by hand from the layout tables (ali-formats.md §4.1, §5) and the
sample text, not copied from the parser's output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from app.ali.framing import Frame
from app.ali.layouts import CONVERTER_NAMES, LayoutError, available_layouts, load_layout, service_for
from app.ali.parse import CONVERTERS, RECORD_KEYS, parse_frame, parse_stream
from app.ali.samples import decode_sample_file, decode_tokens, render

ROOT = Path(__file__).resolve().parents[2]
# A copy of ../shared/reference/ali-samples (masked public captures; each file names its source), kept
# in the repo so the tests do not depend on where the clone sits.
SAMPLES = Path(__file__).resolve().parents[1] / "data/ali-samples"
L30W = load_layout("30w")
WARREN = load_layout("warren")


@pytest.fixture
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.fail(f"reference samples not found at {SAMPLES}")
    return SAMPLES


def sample_bytes(folder: Path, name: str) -> bytes:
    return decode_sample_file((folder / name).read_text(encoding="utf-8"))


def rec(**fields) -> dict:
    """A whole record: the given fields, every other key null."""
    unknown = set(fields) - set(RECORD_KEYS)
    assert not unknown, unknown
    return {key: fields.get(key) for key in RECORD_KEYS}


def framed(data: bytes) -> Frame:
    """An ALI-link frame without check byte around text that was stored without STX/ETX."""
    raw = b"\x02" + data + b"\x03"
    return Frame(raw, data, None, None)


VERIFY = ["VERIFY PD", "VERIFY FD", "VERIFY EMS"]
VOIP_ELT = ["VOIP 911 CALL", "VERIFY CALLERS LOCATION", "VERIFY EMS"]
CSPD_ELT = ["COLO SPGSPD", "COLO SPGS FD", "COLSPGS FD"]
CSPD_WIRELESS = "CSPD--COLORADO SPRINGS WIRELESS"
COS = "COLORADO SPRINGS"

# file -> (bcc mode of the link, header, expected record)
EXPECTED_30W = {
    "capture-busn-school-RECONSTRUCTED-bcc-valid.txt": (True, "2517", rec(
        ani="7194958181", class_of_service="BUSN", service="Business", date="08/14", time="13:59",
        name="EL PASO COUNTY COLORADO SCHO", house_number="10255", pani="7194952261", street="LAMBERT RD",
        esn="00245", state="CO", community="FALCON", company_id="CTLQ", psap="EPSO--FALCON",
        agencies=["EPSO", "FALCON FD", "FALCON AMB"])),
    "capture-busn-school.txt": (True, "2517", rec(
        ani="7194958181", class_of_service="BUSN", service="Business", date="08/14", time="13:59",
        name="EL PASO COUNTY COLORADO SCHO", house_number="10255", pani="7194952261", street="LAMBERT RD",
        esn="00245", state="CO", community="FALCON", company_id="CTLQ", psap="EPSO--FALCON",
        agencies=["EPSO", "FALCON FD", "FALCON AMB"])),
    "capture-pbxb-state-govt.txt": (True, "2517", rec(
        ani="7193853360", class_of_service="PBXB", service="Business PBX", date="08/14", time="14:02",
        name="COLORADO STATE GOVT", house_number="1427", pani="7193853360", prefix_directional="W",
        street="RIO GRANDE ST", esn="00220", state="CO", community=COS, company_id="CTLQ",
        psap="CSPD--COLO SPGS", agencies=CSPD_ELT)),
    "capture-resd.txt": (True, "2517", rec(
        ani="7195550114", class_of_service="RESD", service="Residence", date="08/14", time="14:02",
        name="DOE, JANE", house_number="1000", pani="7195550114", street="OAK VALLEY DR", esn="00220",
        state="CO", community=COS, company_id="CTLQ", psap="CSPD--COLO SPGS", agencies=CSPD_ELT)),
    "capture-voip-bandwidth-no-xy.txt": (True, "2517", rec(
        ani="7192113035", class_of_service="VOIP", service="VoIP", date="08/14", time="14:00",
        name="BANDWIDTH : 855.864.7776", pani="7192113035", street="VOIP 9-1-1 CALLER", esn="05025",
        state="CO", community="COLORADO SPRINGS PDFD", company_id="BAND", psap="CO SPRINGS VOIP",
        agencies=VOIP_ELT)),
    "capture-voip-city-level3.txt": (True, "2130", rec(
        ani="7193854001", class_of_service="VOIP", service="VoIP", date="08/14", time="14:01",
        name="CITY OF COLORADO SPRINGS - C", house_number="217", pani="7192110081", prefix_directional="S",
        street="WAHSATCH AVE", location="CITYOFCOLORADOSPRING", esn="05025", state="CO", community=COS,
        company_id="LVL3", latitude=38.830072, longitude=-104.817638, uncertainty_m=0,
        psap="CO SPRINGS VOIP", agencies=VOIP_ELT)),
    "capture-voip-nomadic-xy-only.txt": (True, "2517", rec(
        ani="3615550113", class_of_service="VOIP", service="VoIP", date="08/14", time="14:00", name="TCS",
        pani="7192111123", street="VOIP NOMADIC CALL XY ONLY", esn="05025", state="CO",
        community="COLORADO SPRINGS PDFD", company_id="ONVOY", latitude=38.827, longitude=-104.793,
        uncertainty_m=0, psap="CO SPRINGS VOIP", agencies=VOIP_ELT)),
    "capture-voip-trdo-no-xy.txt": (True, "2517", rec(
        ani="7192110091", class_of_service="VOIP", service="VoIP", date="08/14", time="14:01",
        name="VOIP CALLER", pani="7192110091", street="VOIP 9-1-1 CALLER", esn="05035", state="CO",
        community="EL PASO COUNTY SHERIFF", company_id="TRDO", psap="EL PASO VOIP", agencies=VOIP_ELT)),
    # Stored without its check byte: read as a link without BCC.
    "capture-wph1-att-no-coordinates.txt": (False, "2517", rec(
        ani="7195559044", class_of_service="WPH1", service="Wireless Phase I", date="08/14", time="14:01",
        name="AT&T MOBIL-NO COOR DATA-REBI", pani="7195559044", street="WIRELESS CALL", esn="00311",
        state="CO", community="COLORADO SPRINGS E911", company_id="ATTMO", psap=CSPD_WIRELESS,
        agencies=VERIFY)),
    "capture-wph2-tmobile.txt": (True, "2122", rec(
        ani="7195114551", class_of_service="WPH2", service="Wireless Phase II", date="08/14", time="13:59",
        name="T-Mobile USA, Inc.", house_number="1000", pani="7195114551", street="Dalby DR",
        callback="7195550111", esn="00311", state="CO", community=COS, company_id="TMOB",
        latitude=38.924, longitude=-104.719, uncertainty_m=5, psap=CSPD_WIRELESS, agencies=VERIFY)),
    "capture-wph2-verizon-21m.txt": (True, "2517", rec(
        ani="7195110410", class_of_service="WPH2", service="Wireless Phase II", date="08/14", time="14:02",
        name="VERIZON WIRELESS", pani="7195110410", street="1000 KERN ST", callback="7195550115",
        esn="00311", state="CO", community=COS, company_id="VZW", latitude=38.853, longitude=-104.74,
        uncertainty_m=21, psap=CSPD_WIRELESS, agencies=VERIFY)),
    "capture-wph2-verizon-epso-15lines.txt": (True, "2517", rec(
        ani="7195110462", class_of_service="WPH2", service="Wireless Phase II", date="08/14", time="13:59",
        name="VERIZON", pani="7195110462", street="1000 SOUTHMOOR DR - E", callback="9565550112",
        esn="02000", state="CO", community="FOUNTAIN", company_id="VZW", latitude=38.72,
        longitude=-104.711, uncertainty_m=6, psap="EPSO--EL PASO SHERIFF WIRELESS", agencies=VERIFY)),
    "capture-wrls-tmobile-2070m.txt": (True, "2122", rec(
        ani="7195114540", class_of_service="WRLS", service="Wireless", date="08/14", time="14:01",
        name="T-MOBILE USA", pani="7195114540", street="1404 Manitou blvd - sector SW",
        callback="9119225860", esn="00311", state="CO", community=COS, company_id="TMOB",
        latitude=38.846605, longitude=-104.840298, uncertainty_m=2070, psap=CSPD_WIRELESS,
        agencies=VERIFY)),
    "nettap-30w-busn.txt": (True, "2517", rec(
        ani="7198881234", class_of_service="BUSN", service="Business", date="04/10", time="14:47",
        name="SCHOOLS-PUBLIC", house_number="5250", pani="7198881234", street="FARTHING DR", esn="00220",
        state="CO", community=COS, company_id="CTLQ", psap="CSPD--COLO SPGS", agencies=CSPD_ELT)),
    "nettap-30w-pbxb-cjc.txt": (True, "2000", rec(
        ani="6663902149", class_of_service="PBXB", service="Business PBX", date="08/10", time="16:29",
        name="CRIMINAL JUSTICE CTR", house_number="6666", pani="6663902149", prefix_directional="E",
        street="LAS VEGAS ST", location="SHERIFF", esn="00220", state="CO", community=COS,
        company_id="CTLQP", psap="CSPD--COLO SPGS", agencies=CSPD_ELT)),
    "nettap-30w-resd-2.txt": (True, "2517", rec(
        ani="2226324403", class_of_service="RESD", service="Residence", date="08/10", time="14:24",
        name="DOE  J Q", house_number="2222", pani="2226324403", prefix_directional="E",
        street="SAN MIGUEL ST", esn="00220", state="CO", community=COS, company_id="CTLQ",
        psap="CSPD--COLO SPGS", agencies=CSPD_ELT)),
    "nettap-30w-resd.txt": (True, "2128", rec(
        ani="7197771234", class_of_service="RESD", service="Residence", date="04/11", time="06:07",
        name="SMITH, JOHN A.", house_number="3280", pani="7197771234", prefix_directional="S",
        street="ACADEMY BLVD", location="LOT 209", esn="00220", state="CO", community=COS,
        company_id="CTLQ", psap="CSPD--COLO SPGS", agencies=CSPD_ELT)),
    "nettap-30w-voip.txt": (True, "2128", rec(
        ani="7199991234", class_of_service="VOIP", service="VoIP", date="04/10", time="15:15",
        name="CO SPRINGS D11 711 E SAN RAF", house_number="5240", pani="7192110083", street="GEIGER BLVD",
        location="FOTC-MAIN, LOWERLEVE", esn="05025", state="CO", community=COS, company_id="CTLQV",
        latitude=38.844566, longitude=-104.731185, uncertainty_m=0, psap="CO SPRINGS VOIP",
        agencies=VOIP_ELT)),
    "nettap-30w-wph1-tmobile-3674m.txt": (True, "2125", rec(
        ani="5555114005", class_of_service="WPH1", service="Wireless Phase I", date="08/10", time="17:49",
        name="T-MOBILE USA", pani="5555114005", street="55555 TEMPLETON GAP ROAD - SECTOR NW",
        callback="9111035555", esn="00311", state="CO", community=COS, company_id="TMOB",
        latitude=38.938798, longitude=-104.702218, uncertainty_m=3674, psap=CSPD_WIRELESS,
        agencies=VERIFY)),
    "nettap-30w-wph1-verizon.txt": (True, "2137", rec(
        ani="7193331234", class_of_service="WPH1", service="Wireless Phase I", date="04/10", time="15:44",
        name="VERIZON", house_number="3155", pani="7195559068", street="NORTH CASCADE AVENUE - W Sector",
        callback="7195550103", esn="00311", state="CO", community=COS, company_id="ATTMO",
        latitude=38.87734, longitude=-104.821869, uncertainty_m=0, psap=CSPD_WIRELESS, agencies=VERIFY)),
    "nettap-30w-wph2-att.txt": (True, "2000", rec(
        ani="7191111234", class_of_service="WPH2", service="Wireless Phase II", date="04/10", time="15:36",
        name="AT&T Mobility", house_number="2886", pani="7195559152", street="SOUTH CIRCLE DIRVE - SW Sector",
        callback="7195550101", esn="00311", state="CO", community=COS, company_id="ATTMO",
        latitude=38.794999, longitude=-104.807339, uncertainty_m=8, psap=CSPD_WIRELESS, agencies=VERIFY)),
    "nettap-30w-wph2-tmobile.txt": (True, "2123", rec(
        ani="7192221234", class_of_service="WPH2", service="Wireless Phase II", date="04/10", time="15:35",
        name="T-MOBILE", house_number="6760", pani="7195559184", street="CORPORATE DRIVE - NE Sector",
        callback="7195550102", esn="00311", state="CO", community=COS, company_id="ATTMO",
        latitude=38.935654, longitude=-104.812596, uncertainty_m=8, psap=CSPD_WIRELESS, agencies=VERIFY)),
    "nettap-30w-wph2-verizon-epso.txt": (True, "2209", rec(
        ani="4445110463", class_of_service="WPH2", service="Wireless Phase II", date="08/10", time="17:41",
        name="VERIZON", pani="4445110463", street="4444 FOUNTAIN MESA RD - NE", callback="7196004444",
        esn="02000", state="CO", community=COS, company_id="VZW", latitude=38.720455,
        longitude=-104.699299, uncertainty_m=5, psap="EPSO--EL PASO SHERIFF WIRELESS", agencies=VERIFY)),
}

# Samples read with other layouts or wrappers, tested one by one below.
OTHER_SAMPLES = {
    "capture-heartbeat-H.txt", "capture-error-frame-E130.txt", "nettap-framing-noise-test.txt",
    "spillman-kb-warren-style.txt", "sylkserver-ali-simulator-30w-wph2.txt",
    "sylkserver-aliquery-30w-wireless-handmade.txt", "sylkserver-aliquery-30w-wireline.txt",
}


def test_every_sample_file_has_a_test(samples):
    on_disk = {p.name for p in samples.glob("*.txt")}
    assert on_disk == set(EXPECTED_30W) | OTHER_SAMPLES


@pytest.mark.parametrize("name", sorted(EXPECTED_30W))
def test_30w_sample(samples, name):
    bcc, header, expected = EXPECTED_30W[name]
    data = sample_bytes(samples, name)
    entries = parse_stream(data, L30W, bcc=bcc)
    first = entries[0]
    assert first["kind"] == "ali"
    assert first["header"] == header and first["position"] == header[1:]
    assert first["record"] == expected
    assert [e for e in first["errors"] if not e.startswith("block check")] == []
    # Whatever follows the frame (a CR LF separator) is reported, never dropped.
    assert all(e["kind"] == "unparsed" and e["errors"] for e in entries[1:])
    assert b"".join(decode_tokens(e["raw"]) for e in entries) == data


def test_reconstructed_capture_is_byte_exact_and_its_check_byte_validates(samples):
    data = sample_bytes(samples, "capture-busn-school-RECONSTRUCTED-bcc-valid.txt")
    assert data[:6] == b"\x022517\r" and data[-2:] == b"\x03\x12"
    [entry] = parse_stream(data, L30W)
    assert entry["bcc_ok"] is True and entry["errors"] == []
    assert entry["raw"].startswith("<STX>2517<CR>(719) 495-8181 BUSN") and entry["raw"].endswith("<ETX><BCC=0x12>")
    assert entry["raw"].count("<CR><LF>") == 2  # only the last two line breaks are CR LF


def test_sample_as_stored_with_crlf_everywhere_fails_its_check_but_still_parses(samples):
    [entry] = parse_stream(sample_bytes(samples, "capture-busn-school.txt"), L30W)
    assert entry["kind"] == "ali" and entry["bcc_ok"] is False
    assert entry["errors"] == ["block check 0x12 does not match 0x18 (XOR of the frame)"]


def test_heartbeat_and_status_frames(samples):
    [beat] = parse_stream(sample_bytes(samples, "capture-heartbeat-H.txt"), L30W)
    assert beat["kind"] == "heartbeat" and beat["bcc_ok"] is True and beat["raw"] == "<STX>H<ETX><BCC=0x4B>"
    [status] = parse_stream(sample_bytes(samples, "capture-error-frame-E130.txt"), L30W)
    assert status["kind"] == "status" and status["bcc_ok"] is True and status["raw"] == "<STX>E130<ETX><BCC=0x74>"
    assert status["record"] == rec() and beat["record"] == rec()


def test_noise_stream_keeps_every_byte_and_names_the_garbage(samples):
    data = sample_bytes(samples, "nettap-framing-noise-test.txt")
    entries = parse_stream(data, L30W, bcc=False)
    kinds = [e["kind"] for e in entries]
    assert kinds == [
        "status", "unparsed",  # E133, CR LF
        "heartbeat", "unparsed",  # H, CR LF 12345
        "unparsed", "heartbeat", "unparsed", "heartbeat", "unparsed", "heartbeat", "unparsed", "heartbeat",
        "status", "heartbeat",  # E55555 looks like an E-code status frame
        "unparsed", "unparsed",  # 67890, a last STX with no end
    ]
    assert entries[3]["errors"] == ["bytes outside a frame: 7 byte(s) <CR><LF>12345"]
    assert entries[4]["header"] == "A1" and "does not fit layout 30w" in entries[4]["errors"][0]
    assert entries[-1]["errors"] == ["link lost mid-frame: 1 byte(s) <STX>"]
    assert b"".join(decode_tokens(e["raw"]) for e in entries) == data


def test_sylkserver_simulator_record_with_its_runtime_number(samples):
    # The simulator replaces "%s" with "(NPA) NXX-XXXX" before sending; it sends no check byte.
    data = sample_bytes(samples, "sylkserver-ali-simulator-30w-wph2.txt").replace(b"%s", b"(415) 305-4541")
    [entry] = parse_stream(data, L30W, bcc=False)
    assert entry["kind"] == "ali" and entry["bcc_ok"] is None and entry["errors"] == []
    assert entry["header"] == "112" and entry["position"] == "12"
    assert entry["record"] == rec(
        ani="4153054541", class_of_service="WPH2", service="Wireless Phase II", date="08/11", time="13:17",
        name="US CELLULAR 800-510-6091", house_number="1285", pani="5153194005", street="Quail Ave - 3S",
        callback="4153054541", esn="01045", state="CA", community="00070-2-011, SAN FRAN", company_id="USCC",
        latitude=42.65761, longitude=-93.273464, uncertainty_m=46, psap="HAMPTON PD",
        agencies=["Verify PD", "Verify FD", "Verify EMS"])


def test_sylkserver_simulator_template_as_stored_names_the_bad_field(samples):
    data = sample_bytes(samples, "sylkserver-ali-simulator-30w-wph2.txt")
    [entry] = parse_stream(data, L30W, bcc=False)
    assert entry["kind"] == "ali" and entry["record"]["ani"] is None
    assert entry["record"]["pani"] == "5153194005"
    assert any(e.startswith("ani: not a phone number at line 1 cols 0-13") for e in entry["errors"])


def test_wireline_hampton_record_with_30w_and_with_a_site_layout(samples, tmp_path):
    data = sample_bytes(samples, "sylkserver-aliquery-30w-wireline.txt")
    base = dict(ani="6415550116", class_of_service="RESD", service="Residence", date="05/30", time="09:44",
                name="DOE, JOHN", house_number="1000", pani="6415550116", prefix_directional="NE",
                street="1ST ST", esn="00677", state="IA", community="HAMPTON")
    entry = parse_frame(framed(data), L30W)
    assert entry["kind"] == "ali" and entry["header"] is None and entry["errors"] == []
    assert entry["record"] == rec(**base)  # no TEL=, no X/Y line, no PSAP= line
    # That site puts the three agencies on one line in 32-character slots: one file, no code.
    site = tmp_path / "hampton.toml"
    site.write_text('extends = "30w"\nname = "hampton"\n'
                    '[[field]]\nname = "agencies"\nline = 8\ncols = [0, 95]\nconverter = "slots"\nslot_width = 32\n')
    entry = parse_frame(framed(data), load_layout(site))
    assert entry["record"] == rec(**base, agencies=["HAMPTON PD", "HAMPTON FIRE DEPT", "FRANKLIN GEN. AMB"])


def test_handmade_wireless_record_with_a_headerless_site_layout(samples, tmp_path):
    data = sample_bytes(samples, "sylkserver-aliquery-30w-wireless-handmade.txt")
    site = tmp_path / "noheader.toml"
    site.write_text('extends = "30w"\n[header]\nwidth = 0\n'
                    '[tail]\nfrom_line = 10\npsap_prefix = "PSAP="\nagency_lines = 5\n')
    entry = parse_frame(framed(data), load_layout(site))
    assert entry["kind"] == "ali" and entry["header"] is None and entry["position"] is None
    assert entry["record"] == rec(
        ani="4153054541", class_of_service="WPH1", service="Wireless Phase I", date="05/14", time="02:30",
        name="Cingular Wireless", house_number="123", house_suffix="3", pani="4155551212",
        prefix_directional="E", street="North Point Street    Apt 403", location="Cross Van Ness", esn="9099",
        state="IA", community="Franklin", company_id="QWST", uncertainty_m=8900, psap="Franklin County",
        agencies=["Police=4154554011", "", "Fire=4154554012", "", "EMS=4154554013"])
    # Its X/Y are not degrees: refused by the layout's ranges, with the place named.
    assert entry["errors"] == [
        "latitude: 7.19052e+06 is outside -90..90 at line 9 cols 0-10: '7190521    '",
        "longitude: 7.19052e+06 is outside -180..180 at line 9 cols 12-22: '7190522    '",
    ]


def test_spillman_sample_lost_its_spacing_so_it_does_not_fit_warren(samples):
    data = sample_bytes(samples, "spillman-kb-warren-style.txt")
    entry = parse_frame(framed(data), WARREN)
    assert entry["kind"] == "unparsed" and entry["header"] == "207" and entry["position"] == "07"
    assert entry["errors"][0].startswith("does not fit layout warren: expected 'LEC' at offset 183-185")
    assert entry["record"] == rec()
    assert decode_tokens(entry["raw"]) == b"\x02" + data + b"\x03"


def _warren_text(line_end: str = "\r") -> str:
    """A Warren record built from the §5 table: each value put at its 1-based position."""
    text = [" "] * 475

    def put(at: int, value: str) -> None:
        text[at - 1:at - 1 + len(value)] = list(value)

    for at in (1, 33, 65, 475):
        put(at, "\r")
    put(34, "801-555-0120"), put(48, "11:41:01"), put(57, "12312015")
    put(66, "DEMO TECHNOLOGIES INC"), put(99, "4625"), put(114, "S"), put(126, "BUSN")
    put(131, "LAKE PARK BLVD"), put(183, "LEC"), put(187, "VISTA"), put(193, "SALT LAKE CITY"), put(222, "UT")
    put(225, "BLDG 3"), put(278, "ESN"), put(282, "319"), put(288, "P#801-555-0120"), put(303, "ALT#")
    put(320, "X-111.932100"), put(333, "Y+40.712300"), put(346, "CF 90"), put(352, "UNC25.5")
    put(380, "DEMO SHERIFF"), put(403, "555-0171"), put(412, "DEMO FIRE"), put(444, "DEMO EMS")
    return "".join(text).replace("\r", line_end)


@pytest.mark.parametrize("line_end", ["\r", "\r\n", "\n"])
def test_warren_offsets_with_any_line_end(line_end):
    payload = ("207" + _warren_text(line_end)).encode("ascii")
    entry = parse_frame(Frame(b"\x02" + payload + b"\x03", payload, None, None), WARREN)
    assert entry["kind"] == "ali" and entry["errors"] == [] and entry["position"] == "07"
    assert entry["record"] == rec(
        ani="8015550120", time="11:41:01", date="12312015", name="DEMO TECHNOLOGIES INC", house_number="4625",
        prefix_directional="S", class_of_service="BUSN", service="Business", street="LAKE PARK BLVD",
        company_id="VISTA", community="SALT LAKE CITY", state="UT", location="BLDG 3", esn="319",
        pani="8015550120", longitude=-111.9321, latitude=40.7123, confidence_pct=90, uncertainty_m=25.5,
        agencies=["DEMO SHERIFF" + " " * 11 + "555-0171", "DEMO FIRE", "DEMO EMS"])


def test_30w_accepts_cr_crlf_and_lf_line_ends(samples):
    data = sample_bytes(samples, "capture-wph2-tmobile.txt")
    payload = data[1:data.index(b"\x03")]
    records = []
    for end in (b"\r", b"\r\n", b"\n"):
        text = payload.replace(b"\r\n", b"\n").replace(b"\n", end)
        records.append(parse_frame(Frame(b"\x02" + text + b"\x03", text, None, None), L30W)["record"])
    assert records[0] == records[1] == records[2] == EXPECTED_30W["capture-wph2-tmobile.txt"][2]


def test_raw_layout_pops_everything_as_text():
    payload = b"2517\rANYTHING AT ALL\r\nMORE"
    entry = parse_frame(Frame(b"\x02" + payload + b"\x03", payload, None, None), "raw")
    assert entry["kind"] == "ali" and entry["record"] == rec() and entry["errors"] == []
    assert entry["raw"] == "<STX>2517<CR>ANYTHING AT ALL<CR><LF>MORE<ETX>"


def test_hostile_text_round_trips_literally():
    name = "<b>X</b><img src=x>\x1b[31m"
    lines = ["2122", "(719) 555-0100 WPH2 08/14 13:59", name.ljust(28), "                 P#719-555-0100",
             "   <STX> ST", "", "CALLBK=(719)555-0101  261 00311", "CO TOWN", "                  TEL=TMOB ",
             "+38.900000  -104.700000      5 ", "PSAP=<b>PSAP</b>", "VERIFY PD", "VERIFY FD", "<script>"]
    payload = "\r".join(lines).encode("latin-1")
    [entry] = parse_stream(b"\x02" + payload + b"\x03", L30W, bcc=False)
    assert entry["kind"] == "ali"
    record = entry["record"]
    assert record["name"] == name and record["street"] == "<STX> ST"
    assert record["psap"] == "<b>PSAP</b>" and record["agencies"] == ["VERIFY PD", "VERIFY FD", "<script>"]
    assert "<b>X</b><img src=x><0x1B>[31m" in entry["raw"] and "<script>" in entry["raw"]
    assert "<0x3C>STX> ST" in entry["raw"]  # a literal "<STX>" in the text is kept apart from a real STX
    assert decode_tokens(entry["raw"]) == b"\x02" + payload + b"\x03"


# ---- fuzzing: nothing escapes, nothing is lost --------------------------------------------------

_PIECES = st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b"\x02", b"\x03", b"\r", b"\n", b"\r\n", b"\x02H\x03K", b"\x02E130\x03t", b"<STX>", b"<0x4"]),
    st.builds(lambda t: ("2517\r" + t).encode("latin-1"), st.text(st.characters(max_codepoint=255), max_size=200)),
    st.just(("\x02" + "207" + _warren_text()).encode("latin-1") + b"\x03"),
    st.just(b"\x022122\r(719) 555-0100 WPH2 08/14 13:59\rX\r   1 P#719-555-0100\r\x03\x00"),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=12).map(b"".join), st.sampled_from(["30w", "warren", "raw"]), st.booleans())
def test_fuzz_parse_stream_never_raises_and_loses_no_byte(data, layout_name, bcc):
    entries = parse_stream(data, load_layout(layout_name), bcc=bcc)
    assert b"".join(decode_tokens(e["raw"]) for e in entries) == data
    for entry in entries:
        assert set(entry) == {"kind", "header", "position", "bcc_ok", "raw", "errors", "record"}
        assert entry["kind"] in {"ali", "heartbeat", "status", "unparsed"}
        assert tuple(entry["record"]) == RECORD_KEYS
        assert entry["kind"] != "unparsed" or entry["errors"]
        json.dumps(entry)


@given(st.binary(max_size=300))
def test_render_and_decode_are_inverse(data):
    assert decode_tokens(render(data)) == data
    if data:
        assert decode_tokens(render(data, bcc_at=len(data) - 1)) == data


# ---- layouts as data ----------------------------------------------------------------------------

def test_shipped_layouts_load_from_package_resources():
    assert available_layouts() == ["30w", "raw", "warren"]
    assert set(CONVERTERS) == CONVERTER_NAMES
    assert service_for("wph2") == "Wireless Phase II" and service_for("H") == "Wireless Phase II"
    assert service_for("XXXX") is None


def test_decode_sample_file_drops_comments_and_file_newlines():
    text = "# comment <STX>\n<STX>21<CR>\nA<0x1b><DEL><ACK>\n#x\nB<ETX><BCC=0x4B>\n"
    assert decode_sample_file(text) == b"\x0221\rA\x1b\x7f\x06B\x03\x4b"


@pytest.mark.parametrize("body, message", [
    ('type = "lines"\n[[field]]\nname = "ani"\nline = 1\ncols = [0, 13]\nconverter = "phone11"\n',
     "field 0 (ani): unknown converter 'phone11'"),
    ('type = "lines"\n[[field]]\nname = "zip"\nline = 1\ncols = [0, 4]\n', "name 'zip' is not one of"),
    ('type = "lines"\n[[field]]\nname = "ani"\nline = 1\ncols = [5, 1]\n', "needs cols = [first, last]"),
    ('type = "grid"\n', "type must be one of lines, offsets, raw"),
    ('type = "lines"\n[[field]\n', "not valid TOML"),
])
def test_bad_layout_files_say_what_and_where(tmp_path, body, message):
    path = tmp_path / "site.toml"
    path.write_text(body)
    with pytest.raises(LayoutError, match=None) as err:
        load_layout(path)
    assert message in str(err.value) and "site.toml" in str(err.value)


def test_unknown_layout_name_lists_the_shipped_ones():
    with pytest.raises(LayoutError, match="no layout named 'nope'.*30w, raw, warren"):
        load_layout("nope")


# ---- the command line ---------------------------------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ui.cli", "ali", "parse", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_cli_parses_a_capture_one_json_line_per_frame(samples, tmp_path):
    capture = tmp_path / "capture.bin"
    capture.write_bytes(sample_bytes(samples, "capture-busn-school-RECONSTRUCTED-bcc-valid.txt")
                        + sample_bytes(samples, "capture-heartbeat-H.txt"))
    out = _cli(str(capture))
    assert out.returncode == 0, out.stderr
    entries = [json.loads(line) for line in out.stdout.splitlines()]
    assert [e["kind"] for e in entries] == ["ali", "heartbeat"]
    assert entries[0]["bcc_ok"] is True and entries[0]["record"]["ani"] == "7194958181"
    assert entries[0]["record"]["agencies"] == ["EPSO", "FALCON FD", "FALCON AMB"]


def test_cli_missing_file_and_bad_layout_exit_2_without_traceback(tmp_path):
    out = _cli(str(tmp_path / "missing.bin"))
    assert out.returncode == 2 and "cannot read" in out.stderr and "missing.bin" in out.stderr
    assert "Traceback" not in out.stderr
    out = _cli("--layout", "nope", str(tmp_path / "missing.bin"))
    assert out.returncode == 2 and "no layout named 'nope'" in out.stderr


def test_cli_reads_stdin_without_bcc_and_loads_no_qt_widgets():
    code = (
        "import sys, io, contextlib\n"
        "from ui.cli import main\n"
        "sys.stdin = io.TextIOWrapper(io.BytesIO(b'\\x02H\\x03'))\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    rc = main(['ali', 'parse', '--no-bcc', '-'])\n"
        "print(rc, buf.getvalue().count('heartbeat'), 'PySide6.QtWidgets' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "0 1 False"
