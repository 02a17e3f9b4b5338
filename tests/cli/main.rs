//! Binary tests: real git repositories in temp dirs, a pinned environment, never a mock of git.

mod support;

mod smoke;
