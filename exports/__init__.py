"""Step 8 of the SOP: extract, mask, encode, encrypt and sign one delivery of an agreement."""
