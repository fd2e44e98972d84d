"""torchgeo datasets over corpora, samplers, degradations, and the change benchmarks."""
