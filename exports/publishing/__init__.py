"""Publishing: the delivery's files and the last step of the publish order (`publish`). The
manifest it signs, and the checks a partner or auditor runs on it, are the partner client's
(`pks_partner.manifest`, `pks_partner.verify`), so both sides use one copy.
"""
