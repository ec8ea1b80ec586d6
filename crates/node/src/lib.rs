//! Node addon (see issue 3).
