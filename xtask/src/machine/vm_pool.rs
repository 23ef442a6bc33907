//! Many runs on many kernels under qemu: each kernel boots once for every
//! [`vm::JOBS_PER_BOOT`] of its runs (a boot costs 5 to 10 s under TCG), the
//! kernels boot side by side, one per CPU, and a guest that hangs or crashes
//! costs only the run it was on: the runs after it get a fresh boot.

use std::path::Path;
use std::sync::Mutex;

use crate::machine::kernels::Kernel;
use crate::machine::runner::Output;
use crate::machine::vm;

/// The runs one kernel makes, each a job tagged with what its output is for.
pub struct Queue<'k, T> {
    pub kernel: &'k Kernel,
    pub runs: Vec<(T, vm::Job)>,
}

/// What one kernel's runs gave back: each run's output, or why there is none.
pub struct Finished<T> {
    pub results: Vec<(T, Result<Output, String>)>,
    /// Seconds of each boot (more than one when the runs needed several or a guest failed part-way).
    pub boots: Vec<f64>,
}

/// Runs every queue, the longest first, keeping each kernel's files in
/// `work/<kernel>`; one [`Finished`] per queue, in the queues' order.
pub fn run_all<T: Send>(queues: Vec<Queue<'_, T>>, work: &Path) -> Vec<Finished<T>> {
    let count = queues.len();
    if count == 0 {
        return Vec::new();
    }
    let mut pending: Vec<(usize, Queue<T>)> = queues.into_iter().enumerate().collect();
    // Workers pop from the end: the shortest queue last.
    pending.sort_by_key(|(_, queue)| queue.runs.len());
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(count);
    let total: usize = pending.iter().map(|(_, queue)| queue.runs.len()).sum();
    println!("booting {count} VMs, one per kernel, {workers} at a time: {total} runs");
    let pending = Mutex::new(pending);
    let finished = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let Some((i, queue)) = pending.lock().expect("queue lock").pop() else { break };
                let done = run_queue(queue, work);
                finished.lock().expect("results lock").push((i, done));
            });
        }
    });
    let mut finished = finished.into_inner().expect("results lock");
    finished.sort_by_key(|(i, _)| *i);
    finished.into_iter().map(|(_, done)| done).collect()
}

/// Runs a queue on its kernel, its files in `work/<kernel>`, one boot per
/// [`vm::JOBS_PER_BOOT`] runs, and one more after each run that took the guest down.
fn run_queue<T>(queue: Queue<'_, T>, work: &Path) -> Finished<T> {
    let Queue { kernel, mut runs } = queue;
    let name = kernel.series.name;
    let work = work.join(name);
    let mut finished = Finished { results: Vec::new(), boots: Vec::new() };
    while !runs.is_empty() {
        let jobs: Vec<vm::Job> = runs.iter().take(vm::JOBS_PER_BOOT).map(|(_, job)| job.clone()).collect();
        let boot = match vm::boot(kernel, &jobs, &work) {
            Ok(boot) => boot,
            Err(error) => {
                println!("  {name}: ✗ {error:#}");
                let why = format!("{error:#}");
                finished.results.extend(runs.drain(..).map(|(tag, _)| (tag, Err(why.clone()))));
                break;
            }
        };
        finished.boots.push(boot.seconds);
        let done = boot.outputs.iter().take_while(|o| o.is_some()).count();
        println!(
            "  {name}: {done} of {} runs in {:.1} s{}",
            jobs.len(),
            boot.seconds,
            boot.failure.as_ref().map(|f| format!(" ✗ {f}")).unwrap_or_default()
        );
        let mut outputs = boot.outputs.into_iter();
        for (tag, _) in runs.drain(..done) {
            finished.results.push((tag, Ok(outputs.next().flatten().expect("counted as done"))));
        }
        if done < jobs.len() {
            // The run the guest was on when it failed; the rest boot again.
            let why = boot.failure.unwrap_or_else(|| "the guest sent no transcript".to_string());
            finished.results.push((runs.remove(0).0, Err(why)));
        }
    }
    finished
}
