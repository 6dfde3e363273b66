"""The partner client of PKS Gateway, installable without the server.

Its modules: the HTTP client (`client`), a delivery's download with its checks (`download`),
loading into pyarrow or pandas (`load`), the `pks-partner` command (`cli`); and the formats a
partner checks, which the gateway builds with the same code: the manifest (`manifest`, `verify`),
SSHSIG signatures (`sshsig`), the audit log's Merkle proofs and signed checkpoints (`merkle`,
`checkpoint`, `tlog_proof`, `consistency`, `leaf`).
"""
