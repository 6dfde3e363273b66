"""Masking: the operators that turn a source column into what the agreement grants
(`operators`), the keyed tokens that pseudonymise identifiers (`tokens`) and the age bands
(`years_of_age`). Pure functions over Arrow arrays: no source, no files.
"""
