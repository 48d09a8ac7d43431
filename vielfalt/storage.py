"""Static files: whitenoise's compressed manifest storage, with each file's URL looked up once per process.

Every page asks for the same handful of URLs (stylesheets, scripts); the storage answers each by cleaning the
name, looking it up in the manifest and joining it to STATIC_URL, ~50 µs apiece. The manifest does not change
while a process runs (a deploy starts new processes), so the answers are kept."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._urls: dict[str, str] = {}

    def url(self, name, force=False):
        if force:
            return super().url(name, force)
        try:
            return self._urls[name]
        except KeyError:
            url = self._urls[name] = super().url(name)
            return url
