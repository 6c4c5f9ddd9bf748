"""Tools around datasets: benchmarks (`bench`), contact sheets (`gallery`, `preview`)."""
