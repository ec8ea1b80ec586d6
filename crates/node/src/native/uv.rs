//! The few libuv functions the native transport uses, taken from the running Node
//! process (Node exports its libuv; a second libuv would be a second event loop).
//! They are looked up by name once, as napi-rs looks up the N-API symbols, so the
//! addon links without them and `cargo test` builds without Node.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::OnceLock;

/// `uv_poll_event` bits (uv.h).
pub const UV_READABLE: c_int = 1;
pub const UV_WRITABLE: c_int = 2;
pub const UV_DISCONNECT: c_int = 4;
/// `uv_handle_type` values (uv.h; stable since libuv 1.0, checked at load by name).
const UV_CHECK: c_int = 2;
const UV_POLL: c_int = 8;
const UV_TIMER: c_int = 13;
/// `uv_req_type` of a `uv_work_t` (uv.h; checked at load by name).
const UV_WORK: c_int = 7;

pub type PollCb = unsafe extern "C" fn(handle: *mut c_void, status: c_int, events: c_int);
pub type HandleCb = unsafe extern "C" fn(handle: *mut c_void);
/// `uv_work_cb` (runs on a thread of libuv's pool) and `uv_after_work_cb` (on the loop).
pub type WorkCb = unsafe extern "C" fn(req: *mut c_void);
pub type AfterWorkCb = unsafe extern "C" fn(req: *mut c_void, status: c_int);

/// Node's libuv, as function pointers with uv.h's signatures (handles are opaque).
pub struct Uv {
    handle_size: unsafe extern "C" fn(c_int) -> usize,
    handle_type_name: unsafe extern "C" fn(c_int) -> *const c_char,
    pub poll_init: unsafe extern "C" fn(*mut c_void, *mut c_void, c_int) -> c_int,
    pub poll_start: unsafe extern "C" fn(*mut c_void, c_int, PollCb) -> c_int,
    pub poll_stop: unsafe extern "C" fn(*mut c_void) -> c_int,
    pub close: unsafe extern "C" fn(*mut c_void, Option<HandleCb>),
    pub handle_set_data: unsafe extern "C" fn(*mut c_void, *mut c_void),
    pub handle_get_data: unsafe extern "C" fn(*const c_void) -> *mut c_void,
    pub timer_init: unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int,
    pub timer_start: unsafe extern "C" fn(*mut c_void, HandleCb, u64, u64) -> c_int,
    pub timer_stop: unsafe extern "C" fn(*mut c_void) -> c_int,
    pub check_init: unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int,
    pub check_start: unsafe extern "C" fn(*mut c_void, HandleCb) -> c_int,
    pub check_stop: unsafe extern "C" fn(*mut c_void) -> c_int,
    pub now: unsafe extern "C" fn(*const c_void) -> u64,
    pub unref: unsafe extern "C" fn(*mut c_void),
    req_size: unsafe extern "C" fn(c_int) -> usize,
    req_type_name: unsafe extern "C" fn(c_int) -> *const c_char,
    pub req_set_data: unsafe extern "C" fn(*mut c_void, *mut c_void),
    pub req_get_data: unsafe extern "C" fn(*const c_void) -> *mut c_void,
    pub queue_work: unsafe extern "C" fn(*mut c_void, *mut c_void, WorkCb, AfterWorkCb) -> c_int,
    /// Bytes of a `uv_work_t`.
    pub work_size: usize,
    /// Bytes of a `uv_poll_t`, a `uv_timer_t` and a `uv_check_t` in this libuv.
    pub poll_size: usize,
    pub timer_size: usize,
    pub check_size: usize,
}

/// Looks a symbol up in the process (Node's executable or `libnode`).
fn symbol(name: &CStr) -> Result<*mut c_void, String> {
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only reads the
    // process's symbol tables; it returns null when the name is not there.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    if p.is_null() {
        Err(format!(
            "this Node does not export libuv's {} (the native transport needs Node's own libuv)",
            name.to_string_lossy()
        ))
    } else {
        Ok(p)
    }
}

macro_rules! lookup {
    ($name:literal) => {{
        let p = symbol($name)?;
        // SAFETY: `p` is the address of the libuv function named `$name`, whose C
        // signature (uv.h) is the one of the field it is assigned to.
        unsafe { std::mem::transmute::<*mut c_void, _>(p) }
    }};
}

// Each transmute's target is the type of the `Uv` field it initialises.
#[allow(clippy::missing_transmute_annotations)]
fn load() -> Result<Uv, String> {
    let mut uv = Uv {
        handle_size: lookup!(c"uv_handle_size"),
        handle_type_name: lookup!(c"uv_handle_type_name"),
        poll_init: lookup!(c"uv_poll_init"),
        poll_start: lookup!(c"uv_poll_start"),
        poll_stop: lookup!(c"uv_poll_stop"),
        close: lookup!(c"uv_close"),
        handle_set_data: lookup!(c"uv_handle_set_data"),
        handle_get_data: lookup!(c"uv_handle_get_data"),
        timer_init: lookup!(c"uv_timer_init"),
        timer_start: lookup!(c"uv_timer_start"),
        timer_stop: lookup!(c"uv_timer_stop"),
        check_init: lookup!(c"uv_check_init"),
        check_start: lookup!(c"uv_check_start"),
        check_stop: lookup!(c"uv_check_stop"),
        now: lookup!(c"uv_now"),
        unref: lookup!(c"uv_unref"),
        req_size: lookup!(c"uv_req_size"),
        req_type_name: lookup!(c"uv_req_type_name"),
        req_set_data: lookup!(c"uv_req_set_data"),
        req_get_data: lookup!(c"uv_req_get_data"),
        queue_work: lookup!(c"uv_queue_work"),
        work_size: 0,
        poll_size: 0,
        timer_size: 0,
        check_size: 0,
    };
    for (ty, name) in [(UV_POLL, "poll"), (UV_TIMER, "timer"), (UV_CHECK, "check")] {
        // SAFETY: uv_handle_type_name takes any integer and returns a static
        // NUL-terminated string or null for an unknown type.
        let got = unsafe { (uv.handle_type_name)(ty) };
        // SAFETY: non-null results point to libuv's static type names.
        if got.is_null() || unsafe { CStr::from_ptr(got) }.to_bytes() != name.as_bytes() {
            return Err(format!("this libuv numbers its {name} handles differently"));
        }
    }
    // SAFETY: uv_req_type_name takes any integer; as uv_handle_type_name above.
    let got = unsafe { (uv.req_type_name)(UV_WORK) };
    // SAFETY: non-null results point to libuv's static type names.
    if got.is_null() || unsafe { CStr::from_ptr(got) }.to_bytes() != b"work" {
        return Err("this libuv numbers its work requests differently".to_string());
    }
    // SAFETY: uv_req_size takes the request type checked just above.
    uv.work_size = unsafe { (uv.req_size)(UV_WORK) };
    // SAFETY: uv_handle_size takes a handle type checked just above.
    uv.poll_size = unsafe { (uv.handle_size)(UV_POLL) };
    // SAFETY: as above.
    uv.timer_size = unsafe { (uv.handle_size)(UV_TIMER) };
    // SAFETY: as above.
    uv.check_size = unsafe { (uv.handle_size)(UV_CHECK) };
    Ok(uv)
}

/// Node's libuv, loaded on first use.
pub fn uv() -> Result<&'static Uv, String> {
    static UV: OnceLock<Result<Uv, String>> = OnceLock::new();
    UV.get_or_init(load).as_ref().map_err(Clone::clone)
}

/// Memory for one libuv handle of `size` bytes, 8-aligned (uv.h handles hold
/// pointers and 64-bit fields at most).
pub fn handle_memory(size: usize) -> Box<[u64]> {
    vec![0u64; size.div_ceil(8)].into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_without_libuv_gets_an_error_not_a_crash() {
        // `cargo test` runs without Node: no libuv in the process.
        let e = symbol(c"uv_poll_start").map(|_| ()).unwrap_err();
        assert!(e.contains("uv_poll_start"), "{e}");
        assert!(uv().is_err());
        assert_eq!(handle_memory(13).len(), 2);
    }
}
