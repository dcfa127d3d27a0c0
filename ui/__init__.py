"""Qt widgets and the command line. Shows state and sends commands; no console rules live here."""
