//! Many runs on many kernels under qemu: each kernel boots once for every
//! [`vm::JOBS_PER_BOOT`] of its runs (a boot costs 5 to 10 s under TCG), the
//! boots run side by side, one per CPU, and a guest that hangs or crashes
//! costs only the run it was on: the runs after it get a fresh boot.

use std::path::Path;
use std::sync::Mutex;

use crate::machine::kernels::Kernel;
use crate::machine::runner::Output;
use crate::machine::vm;

/// The runs one kernel makes, each a job tagged with what its output is for.
pub struct Queue<'k, T> {
    pub kernel: &'k Kernel,
    /// Added to the kernel's command line (`lockdown=confidentiality`); usually empty.
    pub parameters: String,
    pub runs: Vec<(T, vm::Job)>,
}

impl<'k, T> Queue<'k, T> {
    /// The same runs, each tagged anew: several kinds of run share one pool.
    pub fn map<U>(self, mut tag: impl FnMut(T) -> U) -> Queue<'k, U> {
        Queue { kernel: self.kernel, parameters: self.parameters, runs: self.runs.into_iter().map(|(t, job)| (tag(t), job)).collect() }
    }
}

/// What one kernel's runs gave back: each run's output, or why there is none.
pub struct Finished<T> {
    pub results: Vec<(T, Result<Output, String>)>,
    /// Seconds of each boot (more than one when the runs needed several or a guest failed part-way).
    pub boots: Vec<f64>,
    /// One per result, in its order: the seconds of the boot it ran in,
    /// shared evenly by that boot's runs. What a lesson's runs cost, told apart.
    pub shares: Vec<f64>,
}

/// Runs every queue, keeping each kernel's files under `work/<kernel>`; one
/// [`Finished`] per queue, in the queues' order. Each queue is cut into
/// boots of [`vm::JOBS_PER_BOOT`] runs, and the workers take boots, not
/// kernels: three kernels on two CPUs would otherwise leave one CPU idle for
/// the last kernel's whole queue.
pub fn run_all<T: Send>(queues: Vec<Queue<'_, T>>, work: &Path) -> Vec<Finished<T>> {
    let count = queues.len();
    if count == 0 {
        return Vec::new();
    }
    let total: usize = queues.iter().map(|queue| queue.runs.len()).sum();
    // (queue, boot's place in it, its runs); interleaved across kernels, so
    // that the kernels start side by side.
    let mut pending = Vec::new();
    for (i, Queue { kernel, parameters, runs }) in queues.into_iter().enumerate() {
        let mut runs = runs.into_iter().peekable();
        let mut part = 0;
        while runs.peek().is_some() {
            let chunk: Vec<(T, vm::Job)> = runs.by_ref().take(vm::JOBS_PER_BOOT).collect();
            pending.push((part, i, Queue { kernel, parameters: parameters.clone(), runs: chunk }));
            part += 1;
        }
    }
    // Workers pop from the end: the first parts of every kernel first, the short last parts last.
    pending.sort_by_key(|(part, i, queue)| (std::cmp::Reverse(*part), queue.runs.len(), std::cmp::Reverse(*i)));
    let boots = pending.len();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(boots);
    println!("booting {count} kernels for {total} runs: {boots} boots, {workers} at a time");
    let pending = Mutex::new(pending);
    let finished = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let Some((part, i, queue)) = pending.lock().expect("queue lock").pop() else { break };
                // A folder per boot: two queues may boot the same kernel side by side.
                let dir =
                    work.join(format!("{}{}", queue.kernel.series.name, folder_suffix(&queue.parameters))).join(format!("{i}-{part}"));
                let done = run_queue(queue, &dir);
                finished.lock().expect("results lock").push((i, part, done));
            });
        }
    });
    let mut finished = finished.into_inner().expect("results lock");
    finished.sort_by_key(|(i, part, _)| (*i, *part));
    let mut merged: Vec<Finished<T>> =
        (0..count).map(|_| Finished { results: Vec::new(), boots: Vec::new(), shares: Vec::new() }).collect();
    for (i, _, done) in finished {
        merged[i].results.extend(done.results);
        merged[i].boots.extend(done.boots);
        merged[i].shares.extend(done.shares);
    }
    merged
}

/// `-lockdown-confidentiality` for `lockdown=confidentiality`: a folder name of its own.
fn folder_suffix(parameters: &str) -> String {
    parameters.split_whitespace().map(|p| format!("-{}", p.replace(['=', '/'], "-"))).collect()
}

/// Runs a queue on its kernel, its files in `work`, one boot per
/// [`vm::JOBS_PER_BOOT`] runs, and one more after each run that took the guest down.
fn run_queue<T>(queue: Queue<'_, T>, work: &Path) -> Finished<T> {
    let Queue { kernel, parameters, mut runs } = queue;
    let name = match parameters.as_str() {
        "" => kernel.series.name.to_string(),
        parameters => format!("{} with {parameters}", kernel.series.name),
    };
    let mut finished = Finished { results: Vec::new(), boots: Vec::new(), shares: Vec::new() };
    while !runs.is_empty() {
        let jobs: Vec<vm::Job> = runs.iter().take(vm::JOBS_PER_BOOT).map(|(_, job)| job.clone()).collect();
        let boot = match vm::boot_with(kernel, &parameters, &jobs, work) {
            Ok(boot) => boot,
            Err(error) => {
                println!("  {name}: ✗ {error:#}");
                let why = format!("{error:#}");
                finished.results.extend(runs.drain(..).map(|(tag, _)| (tag, Err(why.clone()))));
                finished.shares.resize(finished.results.len(), 0.0);
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
        let ran = finished.results.len() - finished.shares.len();
        finished.shares.extend(std::iter::repeat_n(boot.seconds / ran.max(1) as f64, ran));
    }
    finished
}
