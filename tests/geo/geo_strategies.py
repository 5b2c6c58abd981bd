"""Shapes and point clouds for the geo tests, built from a few drawn numbers so examples stay cheap."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import strategies as st
from numpy.typing import NDArray


def star(cx: float, cy: float, r_min: float, r_max: float, n: int, rng: np.random.Generator) -> shapely.Polygon:
    """A simple polygon, concave in general, with ``n`` vertices around (cx, cy) at radii in [r_min, r_max]."""
    angles = np.sort(rng.uniform(0.0, 2.0 * np.pi, n))
    angles = np.unique(angles)
    radii = rng.uniform(r_min, r_max, angles.size)
    return shapely.Polygon(np.column_stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)]))


def cloud(
    rng: np.random.Generator, n: int, around: shapely.Geometry | None, box: tuple[float, float, float, float]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Points: uniform over ``box``, dense near ``around``'s outline, and on its vertices, with duplicates."""
    x0, y0, x1, y1 = box
    lon = [rng.uniform(x0, x1, n)]
    lat = [rng.uniform(y0, y1, n)]
    if around is not None and not around.is_empty:
        bx0, by0, bx1, by1 = around.bounds
        w, h = max(bx1 - bx0, 1e-9), max(by1 - by0, 1e-9)
        lon.append(rng.uniform(bx0 - w * 0.1, bx1 + w * 0.1, n))
        lat.append(rng.uniform(by0 - h * 0.1, by1 + h * 0.1, n))
        vertices = shapely.get_coordinates(around)
        take = vertices[rng.integers(0, len(vertices), min(len(vertices), 20))]
        lon.append(take[:, 0])
        lat.append(take[:, 1])
        outline = shapely.get_coordinates(shapely.segmentize(around, max(w, h) / 50.0))
        near = outline[rng.integers(0, len(outline), n // 2)]
        lon.append(near[:, 0] + rng.normal(0.0, w * 1e-3, near.shape[0]))
        lat.append(near[:, 1] + rng.normal(0.0, h * 1e-3, near.shape[0]))
    x = np.clip(np.concatenate(lon), -180.0, 180.0)
    y = np.clip(np.concatenate(lat), -90.0, 90.0)
    dupes = rng.integers(0, x.size, x.size // 20)
    return np.concatenate([x, x[dupes]]), np.concatenate([y, y[dupes]])


seeds = st.integers(min_value=0, max_value=2**32 - 1)
scales = st.sampled_from([1e-6, 1e-3, 0.05, 1.0, 10.0, 60.0])
