"""`open_tile_source`: one entry point that picks the source type from a path or URI."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from sky2ground_ros.tiles.geotiff import GeoTiffSource
from sky2ground_ros.tiles.http_fetcher import HttpTileSource
from sky2ground_ros.tiles.mbtiles import MBTilesSource
from sky2ground_ros.tiles.pmtiles_source import PMTilesSource
from sky2ground_ros.tiles.tile import TileSource, TileSourceError
from sky2ground_ros.tiles.xyz_dir import XYZDirectory

_BY_SUFFIX: dict[str, type[TileSource]] = {
    ".mbtiles": MBTilesSource,
    ".pmtiles": PMTilesSource,
    ".tif": GeoTiffSource,
    ".tiff": GeoTiffSource,
}


def open_tile_source(uri_or_path: str | Path, *, allow_network: bool = False) -> TileSource:
    """Open a tile source: a directory (XYZ), .mbtiles, .pmtiles, .tif/.tiff (GeoTIFF/COG),
    a ``file://`` URI of one of those, or an http(s) URL template (fetching only when
    ``allow_network``)."""
    text = str(uri_or_path)
    scheme = urlsplit(text).scheme.lower()
    if scheme in ("http", "https"):
        return HttpTileSource(text, allow_network=allow_network)
    if scheme == "file":
        text = url2pathname(urlsplit(text).path)
    elif len(scheme) > 1:
        raise TileSourceError(f"unsupported tile source scheme '{scheme}://'")
    path = Path(text).expanduser()
    if path.is_dir():
        return XYZDirectory(path)
    source_type = _BY_SUFFIX.get(path.suffix.lower())
    if source_type is None:
        raise TileSourceError(
            f"cannot tell the tile source type of {text!r}: expected a directory of z/x/y tiles, "
            ".mbtiles, .pmtiles, .tif/.tiff or an http(s) URL template"
        )
    return source_type(path)
