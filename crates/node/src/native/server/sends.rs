//! `sendBytes(id, bytes, flags)` and `sendText(id, text, flags)` as plain N-API
//! functions bound to one server: the echo path's one call per message. Answers as
//! the `NativeServer` methods of the same names (null, over the high-water mark, or
//! an error object), without napi-rs's method plumbing (class identity check, borrow
//! registry), which cost a tenth of the server's CPU at 64-byte messages.

use std::cell::Cell;
use std::ffi::c_void;
use std::ptr;
use std::rc::Rc;

use napi::bindgen_prelude::{Either, ToNapiValue};
use napi::sys;

use super::{not_open, queue_on, Inner};
use crate::error::CoreError;

/// The server the functions send on; null once it is freed (the functions may outlive
/// it: JS keeps them). Shared by the server and each function's finalizer.
pub(super) type ServerCell = Rc<Cell<*mut Inner>>;

/// Strings up to this many UTF-8 bytes are encoded on the stack.
const STACK_TEXT: usize = 256;

/// Makes `[sendBytes, sendText]` bound to `cell`.
///
/// # Safety
/// On the JS thread, inside a handle scope of `env`.
pub(super) unsafe fn make(env: sys::napi_env, cell: &ServerCell) -> napi::Result<sys::napi_value> {
    let mut array = ptr::null_mut();
    // SAFETY: N-API calls on the JS thread in the caller's scope; every out-pointer is
    // a live local. Each function's data is an Rc of the cell, released by the
    // function's finalizer.
    unsafe {
        check(sys::napi_create_array_with_length(env, 2, &mut array))?;
        let fns: [(&str, sys::napi_callback); 2] = [
            ("sendBytes", Some(send_bytes)),
            ("sendText", Some(send_text)),
        ];
        for (i, (name, cb)) in fns.into_iter().enumerate() {
            let data = Rc::into_raw(cell.clone()).cast_mut().cast::<c_void>();
            let mut f = ptr::null_mut();
            let made = sys::napi_create_function(
                env,
                name.as_ptr().cast(),
                name.len() as isize,
                cb,
                data,
                &mut f,
            );
            if made != sys::Status::napi_ok
                || sys::napi_add_finalizer(
                    env,
                    f,
                    data,
                    Some(release),
                    ptr::null_mut(),
                    ptr::null_mut(),
                ) != sys::Status::napi_ok
            {
                drop(Rc::from_raw(data.cast::<Cell<*mut Inner>>()));
                return Err(napi::Error::from_reason("napi_create_function failed"));
            }
            check(sys::napi_set_element(env, array, i as u32, f))?;
        }
    }
    Ok(array)
}

fn check(s: sys::napi_status) -> napi::Result<()> {
    if s == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::from_reason(format!("N-API call failed ({s})")))
    }
}

unsafe extern "C" fn release(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the Rc leaked for this function in `make`, released once.
    drop(unsafe { Rc::from_raw(data.cast::<Cell<*mut Inner>>()) });
}

/// The live server, the id and the flags of a call; the payload argument is left to
/// the caller.
///
/// # Safety
/// A callback of a function made by `make`.
unsafe fn args(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> (Option<&'static mut Inner>, f64, sys::napi_value, u32) {
    let mut argc = 3usize;
    let mut argv = [ptr::null_mut(); 3];
    let mut data = ptr::null_mut();
    let (mut id, mut flags) = (0f64, 0u32);
    // SAFETY: (the whole block) N-API calls on the JS thread in this callback's scope;
    // `data` is the cell this function was made with (alive while it is). An argument
    // of the wrong type leaves its default (id 0 names no connection). The `&mut`
    // returned is used only until the callback returns and no JS runs meanwhile.
    unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            &mut data,
        );
        sys::napi_get_value_double(env, argv[0], &mut id);
        sys::napi_get_value_uint32(env, argv[2], &mut flags);
        let inner = (*data.cast::<Cell<*mut Inner>>()).get();
        let inner = inner.as_mut().filter(|i| !i.dead);
        (inner, id, argv[1], flags)
    }
}

/// Queues `bytes` and converts the answer.
///
/// # Safety
/// In a callback of a function made by `make`.
unsafe fn answer(
    env: sys::napi_env,
    inner: Option<&mut Inner>,
    id: f64,
    bytes: &[u8],
    flags: u32,
) -> sys::napi_value {
    let answer = match inner {
        Some(inner) => queue_on(inner, id, bytes, flags),
        None => Some(Either::<u32, CoreError>::B(not_open())),
    };
    let mut out = ptr::null_mut();
    // SAFETY: N-API calls in the callback's scope.
    unsafe {
        match answer {
            None => {
                sys::napi_get_null(env, &mut out);
            }
            Some(a) => {
                out = ToNapiValue::to_napi_value(env, a).unwrap_or(ptr::null_mut());
            }
        }
    }
    out
}

unsafe extern "C" fn send_bytes(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: this function was made by `make`; N-API calls in its scope. The bytes
    // of the view stay put during the call (no JS runs).
    unsafe {
        let (inner, id, data, flags) = args(env, info);
        let mut p: *mut c_void = ptr::null_mut();
        let mut len = 0usize;
        if sys::napi_get_buffer_info(env, data, &mut p, &mut len) != sys::Status::napi_ok {
            return throw_type_error(env, "sendBytes: the data must be a Buffer or a TypedArray");
        }
        let bytes: &[u8] = if len == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(p.cast::<u8>(), len)
        };
        answer(env, inner, id, bytes, flags)
    }
}

unsafe extern "C" fn send_text(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: this function was made by `make`; N-API calls in its scope; the buffers
    // passed for the UTF-8 bytes are `len + 1` bytes long.
    unsafe {
        let (inner, id, data, flags) = args(env, info);
        let mut len = 0usize;
        if sys::napi_get_value_string_utf8(env, data, ptr::null_mut(), 0, &mut len)
            != sys::Status::napi_ok
        {
            return throw_type_error(env, "sendText: the data must be a string");
        }
        let mut stack = [0u8; STACK_TEXT + 1];
        let mut heap = Vec::new();
        let buf: &mut [u8] = if len <= STACK_TEXT {
            &mut stack[..=len]
        } else {
            heap.resize(len + 1, 0);
            &mut heap
        };
        let mut written = 0usize;
        sys::napi_get_value_string_utf8(env, data, buf.as_mut_ptr().cast(), len + 1, &mut written);
        answer(env, inner, id, &buf[..written], flags)
    }
}

unsafe fn throw_type_error(env: sys::napi_env, message: &str) -> sys::napi_value {
    let msg = std::ffi::CString::new(message).unwrap_or_default();
    // SAFETY: N-API call in the callback's scope; `msg` outlives it.
    unsafe { sys::napi_throw_type_error(env, ptr::null(), msg.as_ptr()) };
    ptr::null_mut()
}
