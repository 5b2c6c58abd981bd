"""The region registry: a country's tree of regions with names, codes and outlines.

Ukraine ships with the package (country, 27 oblast-level regions, 122 raions, 1,458 hromadas, keyed by the
alerts.in.ua ids); any other country can be loaded from a region file (see ``docs/regions.md``)::

    from sirena.regions import load_builtin

    ua = load_builtin()
    ua.get("31").name("uk")         # "м. Київ"
    ua.oblast_of("155")             # "4": Vinnytsia hromada → Vinnytsia Oblast
"""

from sirena.regions.builtin import builtin_countries, load_builtin
from sirena.regions.region import Region
from sirena.regions.regionfile import FORMAT, dump_data, dumps, load_data, load_file, write_file
from sirena.regions.registry import RegionRegistry
from sirena.regions.translit import transliterate

__all__ = [
    "FORMAT",
    "Region",
    "RegionRegistry",
    "builtin_countries",
    "dump_data",
    "dumps",
    "load_builtin",
    "load_data",
    "load_file",
    "transliterate",
    "write_file",
]
