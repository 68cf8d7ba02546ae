//! Golden-notebook comparison: normalisation, float tolerance, nbval markers and diffs.
