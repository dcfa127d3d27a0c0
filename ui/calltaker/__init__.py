"""Call-taker role: ringing lines, answer/release, location first."""
