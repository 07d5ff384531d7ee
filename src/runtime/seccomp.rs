//! seccomp: docker-format JSON profiles (the default one included) compiled into a
//! classic BPF program here, with per-rule actions and 64-bit argument comparisons,
//! then loaded with seccomp(2) as the last step before execve. Compilation is a
//! JSON parse plus a walk over a few hundred names (tens of microseconds), so the
//! program is rebuilt per start rather than cached on disk.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::caps;
use super::error::RuntimeError;
use super::error::{ChildError, Ctx};
use super::syscalls;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    default_action: String,
    #[serde(default)]
    default_errno_ret: Option<u32>,
    #[serde(default)]
    architectures: Vec<String>,
    #[serde(default)]
    arch_map: Vec<ArchMap>,
    #[serde(default)]
    syscalls: Vec<SyscallRule>,
}

#[derive(Deserialize)]
struct ArchMap {
    architecture: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SyscallRule {
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    name: Option<String>,
    action: String,
    #[serde(default)]
    errno_ret: Option<u32>,
    #[serde(default)]
    args: Option<Vec<Arg>>,
    #[serde(default)]
    includes: Option<Filter>,
    #[serde(default)]
    excludes: Option<Filter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Arg {
    index: u32,
    value: u64,
    #[serde(default)]
    value_two: u64,
    op: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Filter {
    #[serde(default)]
    caps: Vec<String>,
    #[serde(default)]
    arches: Vec<String>,
    #[serde(default)]
    min_kernel: Option<String>,
}

const RET_KILL_THREAD: u32 = 0;
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_TRAP: u32 = 0x0003_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_TRACE: u32 = 0x7ff0_0000;
const RET_LOG: u32 = 0x7ffc_0000;
const RET_ALLOW: u32 = 0x7fff_0000;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const LD_ABS: u16 = 0x20;
const JEQ: u16 = 0x15;
const JGT: u16 = 0x25;
const JGE: u16 = 0x35;
const JA: u16 = 0x05;
const AND: u16 = 0x54;
const RET: u16 = 0x06;

fn invalid(msg: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Seccomp {
        reason: msg.to_string(),
    }
}

fn action(name: &str, errno: Option<u32>, default_errno: u32) -> Result<u32, RuntimeError> {
    Ok(match name {
        "SCMP_ACT_ALLOW" => RET_ALLOW,
        "SCMP_ACT_ERRNO" => RET_ERRNO | (errno.unwrap_or(default_errno) & 0xffff),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => RET_KILL_THREAD,
        "SCMP_ACT_KILL_PROCESS" => RET_KILL_PROCESS,
        "SCMP_ACT_TRAP" => RET_TRAP,
        "SCMP_ACT_TRACE" => RET_TRACE | (errno.unwrap_or(0) & 0xffff),
        "SCMP_ACT_LOG" => RET_LOG,
        other => return Err(invalid(format!("unsupported action {other}"))),
    })
}

/// Checks a docker-format profile without building anything for a container.
pub fn check_seccomp_profile(json: &str) -> Result<(), RuntimeError> {
    program_from_json(json, 0).map(drop)
}

#[cfg(test)]
pub(crate) fn default_program(caps: u64) -> Result<Vec<libc::sock_filter>, RuntimeError> {
    program_from_json(super::seccomp_default::DEFAULT_PROFILE, caps)
}

fn kernel_at_least(min: &str) -> bool {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let nums = |s: &str| -> Vec<u32> {
        s.split(|c: char| !c.is_ascii_digit())
            .filter(|p| !p.is_empty())
            .take(2)
            .filter_map(|p| p.parse().ok())
            .collect()
    };
    nums(&release) >= nums(min)
}

fn applies(rule: &SyscallRule, caps: u64) -> bool {
    let has = |c: &String| caps::bit_of(c).is_some_and(|b| caps & (1 << b) != 0);
    if let Some(inc) = &rule.includes {
        if !inc.caps.iter().all(has) {
            return false;
        }
        if !inc.arches.is_empty() && !inc.arches.iter().any(|a| a == "amd64") {
            return false;
        }
        if inc
            .min_kernel
            .as_deref()
            .is_some_and(|m| !kernel_at_least(m))
        {
            return false;
        }
    }
    if let Some(exc) = &rule.excludes {
        if exc.caps.iter().any(has) || exc.arches.iter().any(|a| a == "amd64") {
            return false;
        }
    }
    true
}

/// One instruction whose jump targets may still be "to the end of this rule".
#[derive(Clone, Copy)]
enum Jump {
    To(u8),
    Fail,
}

struct Ins {
    code: u16,
    jt: Jump,
    jf: Jump,
    k: u32,
}

fn stmt(code: u16, k: u32) -> Ins {
    Ins {
        code,
        jt: Jump::To(0),
        jf: Jump::To(0),
        k,
    }
}

fn jump(code: u16, k: u32, jt: Jump, jf: Jump) -> Ins {
    Ins { code, jt, jf, k }
}

/// The checks of one argument comparison; a failed check jumps past the rule's return.
fn compare(arg: &Arg) -> Result<Vec<Ins>, RuntimeError> {
    if arg.index > 5 {
        return Err(invalid(format!(
            "argument index {} out of range",
            arg.index
        )));
    }
    let lo = 16 + 8 * arg.index;
    let hi = lo + 4;
    let (vhi, vlo) = ((arg.value >> 32) as u32, arg.value as u32);
    use Jump::{Fail, To};
    let ld = |off| stmt(LD_ABS, off);
    Ok(match arg.op.as_str() {
        "SCMP_CMP_EQ" => vec![
            ld(hi),
            jump(JEQ, vhi, To(0), Fail),
            ld(lo),
            jump(JEQ, vlo, To(0), Fail),
        ],
        "SCMP_CMP_NE" => vec![
            ld(hi),
            jump(JEQ, vhi, To(0), To(2)),
            ld(lo),
            jump(JEQ, vlo, Fail, To(0)),
        ],
        "SCMP_CMP_MASKED_EQ" => {
            let (thi, tlo) = ((arg.value_two >> 32) as u32, arg.value_two as u32);
            vec![
                ld(hi),
                stmt(AND, vhi),
                jump(JEQ, thi, To(0), Fail),
                ld(lo),
                stmt(AND, vlo),
                jump(JEQ, tlo, To(0), Fail),
            ]
        }
        "SCMP_CMP_GT" | "SCMP_CMP_GE" => {
            let last = if arg.op == "SCMP_CMP_GT" { JGT } else { JGE };
            vec![
                ld(hi),
                jump(JGT, vhi, To(3), To(0)),
                jump(JEQ, vhi, To(0), Fail),
                ld(lo),
                jump(last, vlo, To(0), Fail),
            ]
        }
        "SCMP_CMP_LT" | "SCMP_CMP_LE" => {
            let last = if arg.op == "SCMP_CMP_LT" { JGE } else { JGT };
            vec![
                ld(hi),
                jump(JGT, vhi, Fail, To(0)),
                jump(JEQ, vhi, To(0), To(2)),
                ld(lo),
                jump(last, vlo, Fail, To(0)),
            ]
        }
        other => return Err(invalid(format!("unsupported operator {other}"))),
    })
}

/// Resolved instructions of one rule: its checks, then `ret action`.
fn rule_code(args: &[Arg], ret: u32) -> Result<Vec<libc::sock_filter>, RuntimeError> {
    let mut ins = Vec::new();
    for a in args {
        ins.extend(compare(a)?);
    }
    ins.push(stmt(RET, ret));
    let end = ins.len();
    let resolve = |j: Jump, at: usize| match j {
        Jump::To(n) => n,
        Jump::Fail => (end - at - 1) as u8,
    };
    Ok(ins
        .iter()
        .enumerate()
        .map(|(i, x)| libc::sock_filter {
            code: x.code,
            jt: resolve(x.jt, i),
            jf: resolve(x.jf, i),
            k: x.k,
        })
        .collect())
}

fn f(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// Compiles a docker-format profile for a container with capability mask `caps`.
pub(crate) fn program_from_json(
    json: &str,
    caps: u64,
) -> Result<Vec<libc::sock_filter>, RuntimeError> {
    let profile: Profile =
        serde_json::from_str(json).map_err(|source| RuntimeError::SeccompJson { source })?;
    let default_errno = profile.default_errno_ret.unwrap_or(libc::EPERM as u32);
    let default = action(
        &profile.default_action,
        profile.default_errno_ret,
        default_errno,
    )?;
    let mut arches: Vec<&str> = profile.architectures.iter().map(String::as_str).collect();
    arches.extend(profile.arch_map.iter().map(|a| a.architecture.as_str()));
    if !arches.is_empty() && !arches.contains(&"SCMP_ARCH_X86_64") {
        return Err(invalid("it does not list SCMP_ARCH_X86_64"));
    }
    // Per syscall number: the code of each applicable rule, in profile order.
    let mut blocks: BTreeMap<u32, Vec<libc::sock_filter>> = BTreeMap::new();
    for rule in &profile.syscalls {
        let ret = action(&rule.action, rule.errno_ret, libc::EPERM as u32)?;
        if !applies(rule, caps) {
            continue;
        }
        let code = rule_code(rule.args.as_deref().unwrap_or(&[]), ret)?;
        for name in rule.names.iter().chain(rule.name.iter()) {
            // Names this architecture does not have are skipped, as libseccomp does.
            if let Some(nr) = syscalls::number(name) {
                blocks.entry(nr).or_default().extend(code.iter().copied());
            }
        }
    }
    let mut prog = vec![
        f(LD_ABS, 0, 0, 4),
        f(JEQ, 1, 0, AUDIT_ARCH_X86_64),
        f(RET, 0, 0, default),
        f(LD_ABS, 0, 0, 0),
        f(JGE, 0, 1, X32_SYSCALL_BIT),
        f(RET, 0, 0, default),
    ];
    let list: Vec<(u32, Vec<libc::sock_filter>)> = blocks.into_iter().collect();
    prog.extend(tree(&list, default));
    if prog.len() > 4096 {
        return Err(invalid(format!(
            "{} instructions, more than the kernel's 4096",
            prog.len()
        )));
    }
    Ok(prog)
}

/// A binary search over syscall numbers; leaves test a few numbers in a row. Every
/// path ends in a return, so the accumulator holds the number on entry to each part.
fn tree(list: &[(u32, Vec<libc::sock_filter>)], default: u32) -> Vec<libc::sock_filter> {
    let mut out = Vec::new();
    if list.len() <= 6 {
        for (nr, body) in list {
            let mut body = body.clone();
            body.push(f(RET, 0, 0, default));
            if body.len() == 2 {
                out.push(f(JEQ, 0, 1, *nr));
                out.push(body[0]);
            } else {
                out.push(f(JEQ, 1, 0, *nr));
                out.push(f(JA, 0, 0, body.len() as u32));
                out.extend(body);
            }
        }
        out.push(f(RET, 0, 0, default));
        return out;
    }
    let mid = list.len() / 2;
    let left = tree(&list[..mid], default);
    let right = tree(&list[mid..], default);
    out.push(f(JGE, 0, 1, list[mid].0));
    out.push(f(JA, 0, 0, left.len() as u32));
    out.extend(left);
    out.extend(right);
    out
}

/// Loads the program into the calling thread (seccomp(2) without TSYNC: the child is
/// single-threaded).
pub(crate) fn load(prog: &[libc::sock_filter]) -> Result<(), ChildError> {
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut _,
    };
    // SAFETY: fprog points at a valid program for the duration of the call.
    let rc = unsafe { libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, &fprog) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).ctx(|| "cannot load seccomp filter".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny classic-BPF interpreter, enough to run the programs built here.
    fn run(prog: &[libc::sock_filter], nr: u32, args: [u64; 6]) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_le_bytes());
        data[4..8].copy_from_slice(&AUDIT_ARCH_X86_64.to_le_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        let (mut a, mut pc) = (0u32, 0usize);
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                LD_ABS => {
                    a = u32::from_le_bytes(data[i.k as usize..i.k as usize + 4].try_into().unwrap())
                }
                AND => a &= i.k,
                JA => pc += i.k as usize,
                JEQ | JGT | JGE => {
                    let t = match i.code {
                        JEQ => a == i.k,
                        JGT => a > i.k,
                        _ => a >= i.k,
                    };
                    pc += if t { i.jt } else { i.jf } as usize;
                }
                RET => return i.k,
                c => panic!("opcode {c:#x}"),
            }
        }
    }

    fn nr(name: &str) -> u32 {
        syscalls::number(name).unwrap()
    }

    #[test]
    fn default_profile_allows_and_denies_like_docker() {
        let caps = caps::mask_of(&super::super::default_capabilities()).unwrap();
        let p = default_program(caps).unwrap();
        let eperm = RET_ERRNO | libc::EPERM as u32;
        assert_eq!(run(&p, nr("read"), [0; 6]), RET_ALLOW);
        assert_eq!(run(&p, nr("writev"), [0; 6]), RET_ALLOW);
        assert_eq!(run(&p, nr("chroot"), [0; 6]), RET_ALLOW);
        assert_eq!(run(&p, nr("mount"), [0; 6]), eperm);
        assert_eq!(run(&p, nr("unshare"), [0; 6]), eperm);
        assert_eq!(run(&p, nr("reboot"), [0; 6]), eperm);
        assert_eq!(run(&p, nr("clone3"), [0; 6]), RET_ERRNO | 38);
        assert_eq!(
            run(&p, nr("clone"), [libc::SIGCHLD as u64, 0, 0, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(
            run(&p, nr("clone"), [libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0]),
            eperm
        );
        assert_eq!(run(&p, nr("personality"), [8, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(run(&p, nr("personality"), [1, 0, 0, 0, 0, 0]), eperm);
        assert_eq!(run(&p, nr("socket"), [2, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(run(&p, nr("socket"), [40, 0, 0, 0, 0, 0]), eperm);
        assert_eq!(
            run(&p, nr("socket"), [40 | (1 << 32), 0, 0, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(run(&p, 1000, [0; 6]), eperm);
    }

    #[test]
    fn sys_admin_opens_the_gated_calls() {
        let p = default_program(caps::mask_of(&["SYS_ADMIN".into()]).unwrap()).unwrap();
        assert_eq!(run(&p, nr("mount"), [0; 6]), RET_ALLOW);
        assert_eq!(
            run(&p, nr("clone"), [libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(run(&p, nr("chroot"), [0; 6]), RET_ERRNO | 1);
    }

    #[test]
    fn comparisons_on_64_bit_values() {
        let json = r#"{"defaultAction":"SCMP_ACT_KILL_PROCESS","syscalls":[
            {"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":2,"value":4294967296,"op":"SCMP_CMP_GT"}]},
            {"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":5},
            {"names":["write"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":3,"op":"SCMP_CMP_LE"}]}]}"#;
        let p = program_from_json(json, 0).unwrap();
        assert_eq!(run(&p, 0, [0, 0, (1 << 32) + 1, 0, 0, 0]), RET_ALLOW);
        assert_eq!(run(&p, 0, [0, 0, 1 << 32, 0, 0, 0]), RET_ERRNO | 5);
        assert_eq!(run(&p, 0, [0, 0, 7, 0, 0, 0]), RET_ERRNO | 5);
        assert_eq!(run(&p, 1, [3, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(run(&p, 1, [4, 0, 0, 0, 0, 0]), RET_KILL_PROCESS);
        assert_eq!(run(&p, 1, [1 << 32, 0, 0, 0, 0, 0]), RET_KILL_PROCESS);
        assert_eq!(run(&p, 2, [0; 6]), RET_KILL_PROCESS);
    }

    #[test]
    fn invalid_profiles_are_rejected_clearly() {
        let e = check_seccomp_profile("{not json").unwrap_err().to_string();
        assert!(e.starts_with("invalid seccomp profile:"), "{e}");
        let e = check_seccomp_profile(r#"{"defaultAction":"SCMP_ACT_NOPE"}"#).unwrap_err();
        assert!(e.to_string().contains("unsupported action"));
    }
}
