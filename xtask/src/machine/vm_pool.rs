//! Many runs on many kernels under qemu: each kernel boots once for every
//! [`vm::JOBS_PER_BOOT`] of its runs (a boot costs some 4 s under TCG), the
//! boots run side by side, two per CPU, and a guest that hangs or crashes
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

impl<T> Default for Finished<T> {
    fn default() -> Self {
        Finished { results: Vec::new(), boots: Vec::new(), shares: Vec::new() }
    }
}

/// What a pool's run gave: one [`Finished`] per queue, in the queues' order,
/// and how many boots it ran side by side.
pub struct Ran<T> {
    pub queues: Vec<Finished<T>>,
    pub side_by_side: usize,
}

/// Runs every queue, keeping each kernel's files under `work/<kernel>`. Each queue is cut into
/// boots of [`vm::JOBS_PER_BOOT`] runs, and the workers take boots, not
/// kernels: three kernels on two CPUs would otherwise leave one CPU idle for
/// the last kernel's whole queue.
pub fn run_all<T: Send>(queues: Vec<Queue<'_, T>>, work: &Path) -> Ran<T> {
    let count = queues.len();
    let total: usize = queues.iter().map(|queue| queue.runs.len()).sum();
    let pending = cut(queues);
    let boots = pending.len();
    if boots == 0 {
        return Ran { queues: (0..count).map(|_| Finished::default()).collect(), side_by_side: 0 };
    }
    let workers = side_by_side().min(boots);
    println!("booting {count} kernels for {total} runs: {boots} boots, {workers} at a time");
    let pending = Mutex::new(pending);
    let finished = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let Some(Boot { queue: i, part, runs: queue }) = pending.lock().expect("queue lock").pop() else { break };
                // A folder per boot: two queues may boot the same kernel side by side.
                let dir =
                    work.join(format!("{}{}", queue.kernel.series.name, folder_suffix(&queue.parameters))).join(format!("{i}-{part}"));
                let done = run_queue(queue, &dir);
                finished.lock().expect("results lock").push((i, part, done));
            });
        }
    });
    Ran { queues: merge(count, finished.into_inner().expect("results lock")), side_by_side: workers }
}

/// How many boots run side by side: two per CPU, because a guest spends
/// part of its time asleep (lesson 05's check waits for a process to live a
/// second) and its CPU would idle meanwhile; no more than the memory holds,
/// at [`vm::GUEST_MEMORY_MIB`] a guest. Measured on two CPUs, the full
/// matrix's boots took 288 s four at a time, against 330 s two at a time,
/// for the same CPU time.
fn side_by_side() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let memory = available_memory_mib().map_or(usize::MAX, |mib| (mib / vm::GUEST_MEMORY_MIB).max(1));
    (2 * cpus).min(memory)
}

/// `MemAvailable` of /proc/meminfo, in MiB.
fn available_memory_mib() -> Option<usize> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: usize = meminfo.lines().find_map(|l| l.strip_prefix("MemAvailable:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib / 1024)
}

/// One boot's worth of a queue: the `part`-th [`vm::JOBS_PER_BOOT`] runs of queue `queue`.
struct Boot<'k, T> {
    queue: usize,
    part: usize,
    runs: Queue<'k, T>,
}

/// The queues cut into boots, in the order the workers pop them (from the
/// end): the first parts of every kernel first, so that the kernels start
/// side by side, and the short last parts last.
fn cut<T>(queues: Vec<Queue<'_, T>>) -> Vec<Boot<'_, T>> {
    let mut boots = Vec::new();
    for (i, Queue { kernel, parameters, runs }) in queues.into_iter().enumerate() {
        let mut runs = runs.into_iter().peekable();
        let mut part = 0;
        while runs.peek().is_some() {
            let chunk: Vec<(T, vm::Job)> = runs.by_ref().take(vm::JOBS_PER_BOOT).collect();
            boots.push(Boot { queue: i, part, runs: Queue { kernel, parameters: parameters.clone(), runs: chunk } });
            part += 1;
        }
    }
    boots.sort_by_key(|boot| (std::cmp::Reverse(boot.part), boot.runs.runs.len(), std::cmp::Reverse(boot.queue)));
    boots
}

/// Each queue's boots put back together, in the queues' order and each queue's runs in theirs.
fn merge<T>(count: usize, mut finished: Vec<(usize, usize, Finished<T>)>) -> Vec<Finished<T>> {
    finished.sort_by_key(|(i, part, _)| (*i, *part));
    let mut merged: Vec<Finished<T>> = (0..count).map(|_| Finished::default()).collect();
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
    let mut finished = Finished::default();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::kernels::SERIES;

    fn queue(kernel: &Kernel, tags: std::ops::Range<usize>) -> Queue<'_, usize> {
        Queue { kernel, parameters: String::new(), runs: tags.map(|tag| (tag, vm::Job::default())).collect() }
    }

    #[test]
    fn every_kernel_boots_its_first_part_before_any_kernel_boots_a_second() {
        let (long, short) = (Kernel::unfetched(&SERIES[0]), Kernel::unfetched(&SERIES[1]));
        let mut boots = cut(vec![queue(&long, 0..2 * vm::JOBS_PER_BOOT + 6), queue(&short, 100..105)]);
        let mut taken = Vec::new();
        while let Some(boot) = boots.pop() {
            taken.push((boot.queue, boot.part, boot.runs.runs.len()));
        }
        let full = vm::JOBS_PER_BOOT;
        assert_eq!(taken, [(0, 0, full), (1, 0, 5), (0, 1, full), (0, 2, 6)]);
    }

    #[test]
    fn boots_that_finish_out_of_order_come_back_in_each_queues_order() {
        let done = |tags: std::ops::Range<usize>, seconds: f64| Finished {
            shares: tags.clone().map(|_| seconds / tags.len() as f64).collect(),
            results: tags.map(|tag| (tag, Err(String::new()))).collect(),
            boots: vec![seconds],
        };
        let merged = merge(3, vec![(1, 0, done(50..52, 4.0)), (0, 1, done(32..40, 8.0)), (0, 0, done(0..32, 16.0))]);
        let tags: Vec<Vec<usize>> = merged.iter().map(|f| f.results.iter().map(|(tag, _)| *tag).collect()).collect();
        assert_eq!(tags, [(0..40).collect::<Vec<_>>(), vec![50, 51], vec![]]);
        assert_eq!(merged[0].boots, [16.0, 8.0]);
        assert_eq!(merged[0].shares.len(), 40);
        assert_eq!(merged[0].shares[39], 1.0);
    }
}
