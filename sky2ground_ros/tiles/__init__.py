"""Cached satellite tile service (ROS-free).

`tile` (the `Tile` record, `TileKey`, errors, the `TileSource` base), sources (`xyz_dir`,
`mbtiles`, `pmtiles_source`, `geotiff`, `http_fetcher`) opened by
`sources.open_tile_source`, `cache` (memory LRU + disk cache), `selection` (`tiles_for`),
`paths` (the cache root as a security boundary) and `service` (`TileService`, the API the
ROS node and replay share).
"""
