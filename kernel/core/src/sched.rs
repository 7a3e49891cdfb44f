//! The scheduler core: tasks (kernel threads), per-CPU current and idle
//! tasks, the context switch, preemption on the tick, sleeping, and
//! exit. What runs next is decided by a [`Policy`], an interface modelled
//! on Linux's `sched_ext` callbacks (select a CPU, enqueue, dispatch,
//! running, stopping, tick) that BPF programs fill; the mechanism checks
//! each decision, and a policy that picks a task that cannot run is
//! ejected in favour of the built-in [`Fallback`] (round robin with work
//! stealing), which also runs before any policy is installed.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use axiom_hal as hal;
use axiom_hal::context::{self, Context};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// Task slots (the first `MAX_CPUS` are the CPUs' idle tasks).
pub const MAX_TASKS: usize = 128;
/// Each task's kernel stack.
pub const STACK_SIZE: usize = 16 * 1024;
/// The fallback policy's time slice.
pub const FALLBACK_SLICE_NS: u64 = 5_000_000;

/// A task's number: its slot.
pub type TaskId = usize;

/// What a task is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Waiting in the policy's queues.
    Runnable,
    /// On a CPU.
    Running,
    /// Asleep until a tick count.
    Sleeping(u64),
    /// Waiting for [`wake`], or until a tick count (`u64::MAX`: none).
    Waiting(u64),
    /// Finished; its stack is freed once no CPU runs on it.
    Dead,
}

/// The decisions a scheduling policy makes; the mechanism calls them with
/// its lock held and interrupts off, so they must not block.
pub trait Policy: Send {
    /// The policy's name (for logs).
    fn name(&self) -> &str;
    /// The CPU a task that woke up (or is new) should go to (`prev_cpu`:
    /// where it ran last); the mechanism clamps it to the CPUs online. A
    /// task that was preempted or yielded is enqueued on its own CPU
    /// without this call.
    fn select_cpu(&mut self, task: TaskId, prev_cpu: usize, online: usize) -> usize;
    /// A task became runnable on `cpu`: keep it until dispatched.
    fn enqueue(&mut self, task: TaskId, cpu: usize);
    /// `cpu` needs its next task and time slice in nanoseconds (`None`:
    /// nothing to run, the CPU idles).
    fn dispatch(&mut self, cpu: usize) -> Option<(TaskId, u64)>;
    /// `task` starts running on `cpu`.
    fn running(&mut self, _task: TaskId, _cpu: usize) {}
    /// `task` stops running on `cpu`; `runnable`: it will be enqueued.
    fn stopping(&mut self, _task: TaskId, _cpu: usize, _runnable: bool) {}
    /// A tick while `task` runs on `cpu`; `true` preempts it now.
    fn tick(&mut self, _task: TaskId, _cpu: usize) -> bool {
        false
    }
    /// Whether `task` was enqueued to this policy and not dispatched since
    /// (a dispatch of any other task ejects the policy).
    fn holds(&self, _task: TaskId) -> bool {
        true
    }
    /// Checked on every tick of every CPU: why the policy must be ejected
    /// (a task it has left waiting too long), if it must.
    fn watchdog(&mut self) -> Option<String> {
        None
    }
    /// The policy is being ejected (the scheduler's lock held, interrupts
    /// off): let go of what installed it.
    fn ejected(&mut self) {}
}

/// Each task's priority (0 lowest), readable by policies without the
/// scheduler's lock.
static PRIORITY: [core::sync::atomic::AtomicU32; MAX_TASKS] =
    [const { core::sync::atomic::AtomicU32::new(0) }; MAX_TASKS];

/// Task `id`'s priority.
pub fn priority(id: TaskId) -> u32 {
    PRIORITY.get(id).map_or(0, |p| p.load(Ordering::Relaxed))
}

/// Sets task `id`'s priority (policies read it when they next decide).
pub fn set_priority(id: TaskId, priority: u32) {
    if let Some(p) = PRIORITY.get(id) {
        p.store(priority, Ordering::Relaxed);
    }
}

/// The built-in policy: per-CPU FIFO queues, a fixed slice, new tasks on
/// the least-loaded CPU, and an idle CPU steals from the longest queue.
#[derive(Default)]
pub struct Fallback {
    queues: Vec<VecDeque<TaskId>>,
}

impl Fallback {
    fn queue(&mut self, cpu: usize) -> &mut VecDeque<TaskId> {
        if self.queues.len() <= cpu {
            self.queues.resize_with(cpu + 1, VecDeque::new);
        }
        &mut self.queues[cpu]
    }
}

impl Policy for Fallback {
    fn name(&self) -> &str {
        "fallback (round robin)"
    }

    fn select_cpu(&mut self, _task: TaskId, prev_cpu: usize, online: usize) -> usize {
        let load = |f: &mut Self, c: usize| f.queue(c).len();
        let best = (0..online).min_by_key(|&c| load(self, c)).unwrap_or(0);
        if prev_cpu < online && load(self, prev_cpu) <= load(self, best) { prev_cpu } else { best }
    }

    fn enqueue(&mut self, task: TaskId, cpu: usize) {
        self.queue(cpu).push_back(task);
    }

    fn dispatch(&mut self, cpu: usize) -> Option<(TaskId, u64)> {
        if let Some(t) = self.queue(cpu).pop_front() {
            return Some((t, FALLBACK_SLICE_NS));
        }
        let victim = (0..self.queues.len()).max_by_key(|&c| self.queues[c].len())?;
        self.queues[victim].pop_back().map(|t| (t, FALLBACK_SLICE_NS))
    }
}

/// What the mechanism knows of a task.
struct Task {
    name: String,
    state: State,
    /// The CPU it last ran on.
    cpu: usize,
    /// What it runs (taken when it starts).
    body: Option<Box<dyn FnOnce() + Send>>,
    /// Time on a CPU, in cycles.
    runtime: u64,
    /// Times it was switched to.
    switches: u64,
    /// A [`wake`] came while it was not waiting: its next [`wait`]
    /// returns at once.
    wake_pending: bool,
}

/// The scheduler's state, behind one lock taken with interrupts off.
struct Sched {
    tasks: Vec<Option<Task>>,
    /// The task each CPU runs.
    current: [TaskId; hal::MAX_CPUS],
    /// When the current task's slice ends (cycles) and when it started.
    slice_end: [u64; hal::MAX_CPUS],
    started: [u64; hal::MAX_CPUS],
    /// CPUs taking part.
    online: usize,
    /// Tasks waiting in the policy's queues.
    queued: usize,
    policy: Box<dyn Policy>,
    /// Why the last policy was ejected.
    ejected: Option<String>,
    /// Ejected policies, dropped later outside the lock (a BPF policy's
    /// program must not be freed with interrupts off).
    retired: Vec<Box<dyn Policy>>,
}

/// The tasks' saved contexts, in static slots so a switch can hold them
/// while the lock is released.
static CONTEXTS: [Context; MAX_TASKS] = [const { Context::empty() }; MAX_TASKS];
static SCHED: spin::Mutex<Option<Sched>> = spin::Mutex::new(None);
/// Context switches done.
static SWITCHES: AtomicU64 = AtomicU64::new(0);

/// The decision recorder (for determinism checks): while on, each switch
/// records the task switched to, up to [`RECORD_MAX`]; no allocation
/// under the scheduler's lock.
pub const RECORD_MAX: usize = 4096;
static RECORDING: AtomicBool = AtomicBool::new(false);
static RECORDED: [AtomicUsize; RECORD_MAX] = [const { AtomicUsize::new(0) }; RECORD_MAX];
static RECORD_LEN: AtomicUsize = AtomicUsize::new(0);
static RECORD_PREEMPTIONS: AtomicUsize = AtomicUsize::new(0);

/// Starts recording the tasks switched to (clearing what was recorded).
pub fn record_switches() {
    RECORD_LEN.store(0, Ordering::SeqCst);
    RECORD_PREEMPTIONS.store(0, Ordering::SeqCst);
    RECORDING.store(true, Ordering::SeqCst);
}

/// Tasks the tick preempted (slice expired, or the policy asked) while
/// recording: switches that came from time, not from the tasks' own
/// yields.
pub fn recorded_preemptions() -> usize {
    RECORD_PREEMPTIONS.load(Ordering::SeqCst)
}

/// Stops recording; the tasks switched to meanwhile, in order.
pub fn recorded_switches() -> Vec<TaskId> {
    RECORDING.store(false, Ordering::SeqCst);
    let n = RECORD_LEN.load(Ordering::SeqCst).min(RECORD_MAX);
    RECORDED[..n].iter().map(|t| t.load(Ordering::Relaxed)).collect()
}
/// Policies ejected.
static EJECTIONS: AtomicU64 = AtomicU64::new(0);

/// Runs `f` on the scheduler state with interrupts off.
fn with<R>(f: impl FnOnce(&mut Sched) -> R) -> R {
    hal::without_interrupts(|| f(SCHED.lock().as_mut().expect("scheduler not started")))
}

/// Starts the scheduler on the boot CPU with the fallback policy: the
/// code running now becomes CPU 0's idle task.
pub fn init() {
    let mut tasks: Vec<Option<Task>> = (0..MAX_TASKS).map(|_| None).collect();
    let idle = |cpu: usize| Task {
        name: alloc::format!("idle/{cpu}"),
        state: State::Running,
        cpu,
        body: None,
        runtime: 0,
        switches: 0,
        wake_pending: false,
    };
    tasks[0] = Some(idle(0));
    CONTEXTS[0].adopt_current();
    *SCHED.lock() = Some(Sched {
        tasks,
        current: [0; hal::MAX_CPUS],
        slice_end: [u64::MAX; hal::MAX_CPUS],
        started: [hal::cycles(); hal::MAX_CPUS],
        online: 1,
        queued: 0,
        policy: Box::new(Fallback::default()),
        ejected: None,
        retired: Vec::new(),
    });
}

/// Brings CPU `cpu` into scheduling: the code running on it becomes its
/// idle task.
pub fn cpu_online(cpu: usize) {
    with(|s| {
        s.tasks[cpu] = Some(Task {
            name: alloc::format!("idle/{cpu}"),
            state: State::Running,
            cpu,
            body: None,
            runtime: 0,
            switches: 0,
            wake_pending: false,
        });
        CONTEXTS[cpu].adopt_current();
        s.current[cpu] = cpu;
        CURRENT[cpu].store(cpu, Ordering::Release);
        s.started[cpu] = hal::cycles();
        s.online = s.online.max(cpu + 1);
    });
}

/// Replaces the policy with a new one; tasks waiting in the old one's
/// queues move to the new one, and the old one is dropped.
pub fn set_policy(policy: Box<dyn Policy>) {
    let (old, retired) = with(|s| {
        let old = core::mem::replace(&mut s.policy, policy);
        s.requeue_all();
        s.ejected = None;
        (old, core::mem::take(&mut s.retired))
    });
    drop(old);
    drop(retired);
}

/// Drops ejected policies (from task context, interrupts on).
fn drop_retired() {
    let retired = with(|s| core::mem::take(&mut s.retired));
    drop(retired);
}

/// Set when a policy was ejected: the reaper has something to drop.
static RETIRED_PENDING: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
/// The reaper's task, once it runs (0 before: an idle task's id, never
/// the reaper's).
static REAPER: AtomicUsize = AtomicUsize::new(0);

/// The reaper thread: drops ejected policies and their programs. Not the
/// idle task's job: freeing code takes the memory lock with interrupts
/// on, and an idle task preempted while holding it would never run again
/// while the task spinning for it stays runnable. It sleeps in [`wait`]
/// until CPU 0's tick finds work for it; a wake between its check and
/// its sleep is not lost (the next `wait` returns at once).
pub fn reaper() {
    REAPER.store(current(), Ordering::Release);
    loop {
        while !RETIRED_PENDING.load(Ordering::Acquire) {
            wait(None);
        }
        RETIRED_PENDING.store(false, Ordering::Release);
        drop_retired();
    }
}

/// The running policy's name, and why the last one was ejected.
pub fn policy_status() -> (String, Option<String>) {
    with(|s| (String::from(s.policy.name()), s.ejected.clone()))
}

/// Policies ejected since boot.
pub fn ejections() -> u64 {
    EJECTIONS.load(Ordering::Relaxed)
}

/// CPUs taking part in scheduling.
pub fn online() -> usize {
    with(|s| s.online)
}

/// Context switches since boot.
pub fn switches() -> u64 {
    SWITCHES.load(Ordering::Relaxed)
}

/// Starts a task running `body`; `None` if every slot is taken.
pub fn spawn(name: &str, body: impl FnOnce() + Send + 'static) -> Option<TaskId> {
    spawn_with_priority(name, 0, body)
}

/// Starts a task with a priority (0 lowest; what policies may use).
pub fn spawn_with_priority(
    name: &str,
    priority: u32,
    body: impl FnOnce() + Send + 'static,
) -> Option<TaskId> {
    reap();
    let id = with(|s| {
        let id = (hal::MAX_CPUS..MAX_TASKS).find(|&i| s.tasks[i].is_none())?;
        s.tasks[id] = Some(Task {
            name: String::from(name),
            state: State::Dead,
            cpu: hal::cpu_index(),
            body: Some(Box::new(body)),
            runtime: 0,
            switches: 0,
            wake_pending: false,
        });
        Some(id)
    })?;
    CONTEXTS[id].prepare(STACK_SIZE, task_entry, id);
    set_priority(id, priority);
    with(|s| s.make_runnable(id));
    Some(id)
}

/// Where every task starts.
extern "C" fn task_entry(id: usize) -> ! {
    let body = with(|s| s.tasks[id].as_mut().and_then(|t| t.body.take()));
    if let Some(body) = body {
        body();
    }
    exit()
}

/// Ends the running task.
pub fn exit() -> ! {
    with(|s| {
        let cpu = hal::cpu_index();
        let id = s.current[cpu];
        if let Some(t) = s.tasks[id].as_mut() {
            t.state = State::Dead;
        }
    });
    schedule();
    unreachable!("a dead task was resumed")
}

/// Frees the slots of dead tasks no CPU runs on any more.
fn reap() {
    with(|s| {
        for (slot, context) in s.tasks.iter_mut().zip(&CONTEXTS).skip(hal::MAX_CPUS) {
            let dead = slot.as_ref().is_some_and(|t| t.state == State::Dead && t.body.is_none());
            if dead && context.release() {
                *slot = None;
            }
        }
    });
}

/// Whether task `id` has finished (or never existed).
pub fn finished(id: TaskId) -> bool {
    with(|s| s.tasks.get(id).is_none_or(|t| t.as_ref().is_none_or(|t| t.state == State::Dead)))
}

/// Gives up the CPU to the next task, if there is one.
pub fn yield_now() {
    schedule();
}

/// Sleeps for at least `ticks` ticks.
pub fn sleep_ticks(ticks: u64) {
    let until = crate::time::ticks() + ticks;
    with(|s| {
        let id = s.current[hal::cpu_index()];
        if id >= hal::MAX_CPUS
            && let Some(t) = s.tasks[id].as_mut()
        {
            t.state = State::Sleeping(until);
        }
    });
    schedule();
}

/// Waits until [`wake`] names the running task or tick `until` comes
/// (`None`: no time limit). A wake that arrived since the task last ran
/// this returns at once, so a waiter that registers, checks its
/// condition, then waits cannot miss one; wake-ups may be spurious, so
/// callers check their condition again.
pub fn wait(until: Option<u64>) {
    let asleep = with(|s| {
        let id = s.current[hal::cpu_index()];
        let Some(t) = s.tasks.get_mut(id).and_then(Option::as_mut) else { return false };
        if id < hal::MAX_CPUS || core::mem::take(&mut t.wake_pending) {
            return false;
        }
        t.state = State::Waiting(until.unwrap_or(u64::MAX));
        true
    });
    if asleep {
        schedule();
    }
}

/// Wakes task `id` if it waits in [`wait`]; otherwise its next `wait`
/// returns at once.
pub fn wake(id: TaskId) {
    with(|s| {
        let waiting = match s.tasks.get_mut(id).and_then(Option::as_mut) {
            Some(t) if matches!(t.state, State::Waiting(_)) => true,
            Some(t) => {
                t.wake_pending = true;
                false
            }
            None => false,
        };
        if waiting {
            s.make_runnable(id);
        }
    });
}

/// Each CPU's running task, readable without the scheduler's lock (the
/// system-call path asks on every call); written with `Sched::current`.
static CURRENT: [core::sync::atomic::AtomicUsize; hal::MAX_CPUS] = {
    let mut c = [const { core::sync::atomic::AtomicUsize::new(0) }; hal::MAX_CPUS];
    let mut i = 0;
    while i < hal::MAX_CPUS {
        c[i] = core::sync::atomic::AtomicUsize::new(i);
        i += 1;
    }
    c
};

/// The running task's id.
pub fn current() -> TaskId {
    // Interrupts off between reading the CPU index and the slot: the task
    // must not move to another CPU in between.
    hal::without_interrupts(|| CURRENT[hal::cpu_index()].load(Ordering::Acquire))
}

/// Moves the running task into the page tables `root` (0: the kernel's).
pub fn set_root(root: u64) {
    let _off = hal::InterruptsOff::new();
    let id = SCHED.lock().as_ref().map(|s| s.current[hal::cpu_index()]);
    if let Some(id) = id {
        CONTEXTS[id].set_root(root, true);
    }
}

/// Called on every tick of every CPU (interrupts off): accounts the
/// running task, wakes sleepers, and preempts when the slice is over or
/// the policy asks.
pub fn tick() {
    let cpu = hal::cpu_index();
    let preempt = {
        let mut guard = SCHED.lock();
        let Some(s) = guard.as_mut() else { return };
        if cpu >= s.online {
            return;
        }
        let now_tick = crate::time::ticks();
        for id in hal::MAX_CPUS..MAX_TASKS {
            if let Some(State::Sleeping(until) | State::Waiting(until)) =
                s.tasks[id].as_ref().map(|t| t.state)
                && until <= now_tick
            {
                s.make_runnable(id);
            }
        }
        if let Some(why) = s.policy.watchdog() {
            s.eject(why);
        }
        let id = s.current[cpu];
        let idle = id < hal::MAX_CPUS;
        let asked = !idle && s.policy.tick(id, cpu);
        let expired = hal::cycles() >= s.slice_end[cpu];
        if !idle && (asked || expired) && RECORDING.load(Ordering::Relaxed) {
            RECORD_PREEMPTIONS.fetch_add(1, Ordering::Relaxed);
        }
        (idle && s.queued > 0) || asked || expired
    };
    // Outside the scheduler's lock: the reaper may have work.
    if cpu == 0 && RETIRED_PENDING.load(Ordering::Acquire) {
        match REAPER.load(Ordering::Acquire) {
            0 => {}
            reaper => wake(reaper),
        }
    }
    if preempt {
        schedule();
    }
}

/// Picks the next task for this CPU and switches to it.
pub fn schedule() {
    // Off until this task runs again and leaves (the guard stays on its
    // stack across the switch).
    let _off = hal::InterruptsOff::new();
    let cpu = hal::cpu_index();
    let switch = {
        let mut guard = SCHED.lock();
        let s = guard.as_mut().expect("scheduler not started");
        let cur = s.current[cpu];
        let now = hal::cycles();
        let still_runnable = s.tasks[cur].as_ref().is_some_and(|t| t.state == State::Running);
        if let Some(t) = s.tasks[cur].as_mut() {
            t.runtime += now - s.started[cpu];
        }
        if cur < hal::MAX_CPUS
            && let Some(t) = s.tasks[cur].as_mut()
        {
            // An idle task waits outside every queue.
            t.state = State::Runnable;
        } else {
            s.policy.stopping(cur, cpu, still_runnable);
            if still_runnable {
                // Preempted or yielding: back to this CPU's queue (the
                // policy chooses a CPU only for tasks that wake up).
                if let Some(t) = s.tasks[cur].as_mut() {
                    t.state = State::Runnable;
                }
                s.policy.enqueue(cur, cpu);
                s.queued += 1;
            }
        }
        let (next, slice) = s.pick(cpu);
        if next == cur {
            if let Some(t) = s.tasks[cur].as_mut() {
                t.state = State::Running;
            }
            s.slice_end[cpu] =
                if cur < hal::MAX_CPUS { u64::MAX } else { now + ns_to_cycles(slice) };
            s.started[cpu] = now;
            None
        } else {
            if let Some(t) = s.tasks[next].as_mut() {
                t.state = State::Running;
                t.cpu = cpu;
                t.switches += 1;
            }
            if next >= hal::MAX_CPUS {
                s.policy.running(next, cpu);
            }
            s.current[cpu] = next;
            CURRENT[cpu].store(next, Ordering::Release);
            if RECORDING.load(Ordering::Relaxed) {
                let i = RECORD_LEN.fetch_add(1, Ordering::Relaxed);
                if let Some(slot) = RECORDED.get(i) {
                    slot.store(next, Ordering::Relaxed);
                }
            }
            s.started[cpu] = now;
            s.slice_end[cpu] =
                if next < hal::MAX_CPUS { u64::MAX } else { now + ns_to_cycles(slice) };
            Some((&CONTEXTS[cur], &CONTEXTS[next]))
        }
    };
    if let Some((from, to)) = switch {
        SWITCHES.fetch_add(1, Ordering::Relaxed);
        context::switch(from, to);
    }
}

fn ns_to_cycles(ns: u64) -> u64 {
    let per_ms = crate::time::cycles_to_ns(1_000_000).max(1);
    // cycles = ns * 1e6 / ns-per-1e6-cycles
    (ns as u128 * 1_000_000 / per_ms as u128) as u64
}

impl Sched {
    /// `id` becomes runnable: the policy picks its CPU and queues it.
    fn make_runnable(&mut self, id: TaskId) {
        // A task woken before it got off its CPU (it set itself asleep,
        // then released the lock to call `schedule`): it simply stays
        // running; its `schedule` requeues it. Queuing it now would let
        // another CPU pick it while it is still on this one. (A current
        // task that is already runnable, being requeued into a new
        // policy from its own `schedule`, is queued as any other.)
        let asleep = self.tasks[id]
            .as_ref()
            .is_some_and(|t| matches!(t.state, State::Sleeping(_) | State::Waiting(_)));
        if asleep && self.current[..self.online].contains(&id) {
            if let Some(t) = self.tasks[id].as_mut() {
                t.state = State::Running;
            }
            return;
        }
        let Some(t) = self.tasks[id].as_mut() else { return };
        t.state = State::Runnable;
        let prev = t.cpu;
        let cpu = self.policy.select_cpu(id, prev, self.online).min(self.online - 1);
        self.policy.enqueue(id, cpu);
        self.queued += 1;
    }

    /// The next task for `cpu` and its slice: the policy's choice if it is
    /// a runnable task, else (ejecting the policy) the fallback's; the
    /// CPU's idle task when nothing is runnable.
    fn pick(&mut self, cpu: usize) -> (TaskId, u64) {
        loop {
            let Some((id, slice)) = self.policy.dispatch(cpu) else {
                return (cpu, u64::MAX);
            };
            let ok = (hal::MAX_CPUS..MAX_TASKS).contains(&id)
                && self.tasks[id].as_ref().is_some_and(|t| t.state == State::Runnable)
                && self.policy.holds(id);
            if ok {
                self.queued -= 1;
                return (id, slice.clamp(100_000, 1_000_000_000));
            }
            let why = alloc::format!(
                "policy `{}` dispatched task {id}, which is not runnable or was not queued to it",
                self.policy.name()
            );
            self.eject(why);
        }
    }

    /// Replaces the policy with the fallback (every runnable task moves
    /// to it) and says why; the old policy is dropped later, outside.
    fn eject(&mut self, why: String) {
        println!("axiom: scheduler policy ejected: {why}; the fallback takes over");
        let mut old = core::mem::replace(&mut self.policy, Box::new(Fallback::default()));
        old.ejected();
        self.retired.push(old);
        RETIRED_PENDING.store(true, Ordering::Release);
        self.requeue_all();
        self.ejected = Some(why);
        EJECTIONS.fetch_add(1, Ordering::Relaxed);
    }

    /// Puts every runnable task into the (new) policy's queues.
    fn requeue_all(&mut self) {
        self.queued = 0;
        for id in hal::MAX_CPUS..MAX_TASKS {
            if self.tasks[id].as_ref().is_some_and(|t| t.state == State::Runnable) {
                self.make_runnable(id);
            }
        }
    }
}

/// One line per task: id, name, state, CPU, switches, runtime (µs).
pub fn task_table() -> Vec<String> {
    with(|s| {
        s.tasks
            .iter()
            .enumerate()
            .filter_map(|(id, t)| {
                let t = t.as_ref()?;
                Some(alloc::format!(
                    "{id:>3} {:<16} {:?} cpu {} switches {} runtime {} us",
                    t.name,
                    t.state,
                    t.cpu,
                    t.switches,
                    crate::time::cycles_to_ns(t.runtime) / 1000
                ))
            })
            .collect()
    })
}

/// The idle loop of a CPU: run whatever is runnable, else halt until the
/// next interrupt.
pub fn idle() -> ! {
    loop {
        schedule();
        hal::wait_for_interrupt();
    }
}
