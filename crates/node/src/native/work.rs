//! The transport's zlib jobs (permessage-deflate: large messages to compress or to
//! inflate) on libuv's thread pool with `uv_queue_work`, as the stream transport runs
//! them with napi async tasks (`crate::offload`): the event loop is not blocked by
//! zlib. A job goes out with the address of its owner and comes back on the loop
//! thread, where `done` hands it to the transport (`Server::finish_job`).

use std::ffi::{c_int, c_void};

use ferrosocket_transport::{Job, Token};

use super::uv::{handle_memory, uv, Uv};

/// What the loop thread is called with when a job is back: its owner, the
/// connection, the job (run).
pub(crate) type Done = unsafe fn(owner: *mut c_void, token: Token, job: Job);

/// One job out on the pool: the request's data.
struct Work {
    owner: *mut c_void,
    token: Token,
    job: Job,
    done: Done,
    /// The `uv_work_t`'s memory (uv_req_size(UV_WORK) bytes).
    req: Box<[u64]>,
}

/// Queues `job` on libuv's pool; `done(owner, token, job)` runs on the loop thread
/// once it ran. `Err(job)`: libuv refused it (the caller runs it inline).
///
/// # Safety
/// `loop_` is the running loop and `owner` stays valid for `done` (the caller counts
/// its jobs out and keeps itself alive until they are back).
pub(crate) unsafe fn queue(
    uv: &Uv,
    loop_: *mut c_void,
    owner: *mut c_void,
    token: Token,
    job: Job,
    done: Done,
) -> Result<(), Job> {
    let work = Box::into_raw(Box::new(Work {
        owner,
        token,
        job,
        done,
        req: handle_memory(uv.work_size),
    }));
    // SAFETY: `work` is live until `after_work` frees it (or below, on refusal); its
    // request memory is uv_req_size(UV_WORK) bytes, 8-aligned, and does not move (a
    // boxed slice inside a box).
    unsafe {
        let req = (*work).req.as_mut_ptr().cast::<c_void>();
        (uv.req_set_data)(req, work.cast());
        if (uv.queue_work)(loop_, req, run, after_work) != 0 {
            let work = Box::from_raw(work);
            return Err(work.job);
        }
    }
    Ok(())
}

/// On a thread of the pool: the zlib work. Only this job is touched here (it owns its
/// data; `Job` is `Send`).
unsafe extern "C" fn run(req: *mut c_void) {
    let Ok(uv) = uv() else { return };
    // SAFETY: the request's data is its `Work`, which nobody else touches until
    // `after_work` (libuv runs the two callbacks one after the other).
    unsafe {
        let work = (uv.req_get_data)(req).cast::<Work>();
        (*work).job.run();
    }
}

/// Back on the loop thread (status is 0: no job is ever cancelled with uv_cancel).
unsafe extern "C" fn after_work(req: *mut c_void, _status: c_int) {
    let Ok(uv) = uv() else { return };
    // SAFETY: the request's data is the `Work` boxed in `queue`; libuv is done with
    // the request once this callback runs, so it is freed here, once.
    unsafe {
        let work = Box::from_raw((uv.req_get_data)(req).cast::<Work>());
        let Work {
            owner,
            token,
            job,
            done,
            req: _req,
        } = *work;
        done(owner, token, job);
    }
}
