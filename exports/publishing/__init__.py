"""Publishing: the delivery's files and the last step of the publish order (`publish`), its RFC
8785 manifest signed with SSHSIG (`manifest`), and verifying a manifest with its audit proof as a
partner or auditor does (`manifest_verify`).
"""
