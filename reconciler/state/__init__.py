"""State: the document of what reconcile knows per import, and where it is kept.

`document` is the pure data and its JSON form, `store` the interface (lock, read, write)
with `local` for files (the S3 store lives in `reconciler.aws`), `keeper` the one writer
during apply, `ops` the `reconcile state` commands' core.
"""
