"""The metadata database's own records: staff, signers, SOP requests, agreements."""
