"""Source access and reading: where each catalog element lives in the Dukcapil database
(`source_mapping`), the delivery's SELECT (`query`), the read-only source handle (`source`), the
Arrow record-batch readers (`readers`), the shape and decoding of what they return
(`batch_shape`, `decoding`), one extraction and its small counts (`extract`), the GROUP BY
pre-pass of the risk check (`precount`) and the reader thread (`prefetch`).
"""
