//! Where strategies come from, and the registry that serves them by name.
