"""Re-identification risk: counting the size of every masked quasi-identifier combination and
household (`counter`: the report, suppression, refusal), the keyed 64-bit hashes counted in
place of the values (`combination_hashes`), and the spill files that keep counting in flat
memory (`spill`). docs/reidentification.md.
"""
