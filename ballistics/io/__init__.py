"""Readers and writers: X3P topographies and PNG / TIFF / JPEG photographs -> :class:`Surface`."""
