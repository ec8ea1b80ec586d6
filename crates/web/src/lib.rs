//! Browser package (see issue 4).
