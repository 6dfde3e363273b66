"""The tamper-evident audit log: entries, RFC 6962 Merkle tree, signed checkpoints, verification."""
