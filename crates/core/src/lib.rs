pub fn hello() {}
pub mod session;
