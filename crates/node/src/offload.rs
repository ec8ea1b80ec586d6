//! (De)compression on libuv's thread pool: the core's jobs as napi async tasks. JS
//! takes a job from its `Engine` (`deflateWork` / `inflateWork`), runs it with
//! `runDeflate` / `runInflate` (a Promise of the job done, computed on a worker) and
//! hands it back (`finishDeflate` / `finishInflate`), which frames or delivers the
//! result in order. Ordering and lifecycle stay in the core. The run functions are
//! free functions, not `Engine` methods, so no borrow of the engine is held while the
//! task is out.

use ferrosocket_core::{DeflateJob, InflateJob};
use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Error, Result, Task};
use napi_derive::napi;

fn ran_twice() -> Error {
    Error::from_reason("a compression task ran twice")
}

/// Compresses one message on a worker thread.
pub struct DeflateTask(Option<DeflateJob>);

impl Task for DeflateTask {
    type Output = DeflateJob;
    type JsValue = DeflateWork;

    fn compute(&mut self) -> Result<DeflateJob> {
        let mut job = self.0.take().ok_or_else(ran_twice)?;
        job.run();
        Ok(job)
    }

    fn resolve(&mut self, _env: Env, job: DeflateJob) -> Result<DeflateWork> {
        Ok(DeflateWork { job: Some(job) })
    }
}

/// A message to compress (from `Engine#deflateWork`) or compressed (for
/// `Engine#finishDeflate`).
#[napi]
pub struct DeflateWork {
    job: Option<DeflateJob>,
}

impl DeflateWork {
    pub fn new(job: DeflateJob) -> Self {
        DeflateWork { job: Some(job) }
    }

    pub fn take(&mut self) -> Option<DeflateJob> {
        self.job.take()
    }
}

/// Compresses on libuv's thread pool; resolves with the work done (`null`: the work
/// was run already).
#[napi(ts_return_type = "Promise<DeflateWork> | null")]
pub fn run_deflate(work: &mut DeflateWork) -> Option<AsyncTask<DeflateTask>> {
    work.take()
        .map(|job| AsyncTask::new(DeflateTask(Some(job))))
}

/// Inflates one received message on a worker thread.
pub struct InflateTask(Option<InflateJob>);

impl Task for InflateTask {
    type Output = InflateJob;
    type JsValue = InflateWork;

    fn compute(&mut self) -> Result<InflateJob> {
        let mut job = self.0.take().ok_or_else(ran_twice)?;
        job.run();
        Ok(job)
    }

    fn resolve(&mut self, _env: Env, job: InflateJob) -> Result<InflateWork> {
        Ok(InflateWork { job: Some(job) })
    }
}

/// A received message to inflate (from `Engine#inflateWork`) or inflated (for
/// `Engine#finishInflate`).
#[napi]
pub struct InflateWork {
    job: Option<InflateJob>,
}

impl InflateWork {
    pub fn new(job: InflateJob) -> Self {
        InflateWork { job: Some(job) }
    }

    pub fn take(&mut self) -> Option<InflateJob> {
        self.job.take()
    }
}

/// Inflates on libuv's thread pool; resolves with the work done (`null`: the work
/// was run already).
#[napi(ts_return_type = "Promise<InflateWork> | null")]
pub fn run_inflate(work: &mut InflateWork) -> Option<AsyncTask<InflateTask>> {
    work.take()
        .map(|job| AsyncTask::new(InflateTask(Some(job))))
}
