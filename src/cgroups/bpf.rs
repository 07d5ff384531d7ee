//! The cgroup v2 device allowlist: an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE
//! assembled here instruction by instruction from the same rules v1 writes to
//! devices.allow, loaded with bpf(2) and attached to the container's cgroup directory.
//! The kernel calls it on every open and mknod of a device node; returning 0 denies.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use super::resources::DeviceRule;
use super::CgroupError;

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

// Opcodes.
const LDX_MEM_W: u8 = 0x61;
const MOV64_X: u8 = 0xbf;
const MOV64_K: u8 = 0xb7;
const AND64_K: u8 = 0x57;
const RSH64_K: u8 = 0x77;
const JNE_K: u8 = 0x55;
const JEQ_K: u8 = 0x15;
const EXIT: u8 = 0x95;

/// One eBPF instruction, as `struct bpf_insn`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

fn ins(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0x0f),
        off,
        imm,
    }
}

/// The program for a rule list, in which the last rule that matches an access decides
/// (so the rules are emitted last first, and the first match returns). An allow rule
/// matches when every access asked for is among its own; a deny rule when any is.
/// Registers: r2 device type, r3 requested access, r4 major, r5 minor (all loaded from
/// `struct bpf_cgroup_dev_ctx` in r1), r6 scratch.
pub(crate) fn device_program(rules: &[DeviceRule]) -> Vec<Insn> {
    let mut p = vec![
        ins(LDX_MEM_W, 2, 1, 0, 0),    // r2 = ctx->access_type
        ins(MOV64_X, 3, 2, 0, 0),      // r3 = r2
        ins(RSH64_K, 3, 0, 0, 16),     // r3 >>= 16   (access bits)
        ins(AND64_K, 2, 0, 0, 0xffff), // r2 &= 0xffff (type)
        ins(LDX_MEM_W, 4, 1, 4, 0),    // r4 = ctx->major
        ins(LDX_MEM_W, 5, 1, 8, 0),    // r5 = ctx->minor
    ];
    for r in rules.iter().rev() {
        let mut bits = 0;
        for c in r.access.chars() {
            bits |= match c {
                'r' => ACC_READ,
                'w' => ACC_WRITE,
                'm' => ACC_MKNOD,
                _ => 0,
            };
        }
        // Each check jumps to the next rule on mismatch; the offsets are patched below.
        let mut rule = Vec::new();
        match r.kind {
            'b' => rule.push(ins(JNE_K, 2, 0, 0, DEV_BLOCK)),
            'c' => rule.push(ins(JNE_K, 2, 0, 0, DEV_CHAR)),
            _ => {}
        }
        rule.push(ins(MOV64_X, 6, 3, 0, 0));
        if r.allow {
            rule.push(ins(AND64_K, 6, 0, 0, !bits & 0x7));
            rule.push(ins(JNE_K, 6, 0, 0, 0));
        } else {
            rule.push(ins(AND64_K, 6, 0, 0, bits));
            rule.push(ins(JEQ_K, 6, 0, 0, 0));
        }
        if let Some(m) = r.major {
            rule.push(ins(JNE_K, 4, 0, 0, m as i32));
        }
        if let Some(m) = r.minor {
            rule.push(ins(JNE_K, 5, 0, 0, m as i32));
        }
        rule.push(ins(MOV64_K, 0, 0, 0, i32::from(r.allow)));
        rule.push(ins(EXIT, 0, 0, 0, 0));
        let len = rule.len();
        for (i, insn) in rule.iter_mut().enumerate() {
            if insn.code == JNE_K || insn.code == JEQ_K {
                insn.off = (len - i - 1) as i16;
            }
        }
        p.extend(rule);
    }
    p.push(ins(MOV64_K, 0, 0, 0, 0));
    p.push(ins(EXIT, 0, 0, 0, 0));
    p
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

fn load(prog: &[Insn], log: Option<&mut Vec<u8>>) -> std::io::Result<i32> {
    let license = c"Apache-2.0";
    let mut name = [0u8; 16];
    name[..12].copy_from_slice(b"kiste_device");
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name: name,
        ..Default::default()
    };
    if let Some(buf) = log {
        attr.log_level = 1;
        attr.log_size = buf.len() as u32;
        attr.log_buf = buf.as_mut_ptr() as u64;
    }
    bpf(BPF_PROG_LOAD, &mut attr).map(|fd| fd as i32)
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> std::io::Result<i64> {
    // SAFETY: attr is a properly laid out, zero-padded bpf_attr variant for `cmd`.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T,
            std::mem::size_of::<T>() as u32,
        )
    };
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Loads the program for `rules` and attaches it to the cgroup directory `dir`.
pub(crate) fn attach_device_filter(
    dir: &Path,
    rules: &[DeviceRule],
) -> Result<OwnedFd, CgroupError> {
    let prog = device_program(rules);
    let fd = match load(&prog, None) {
        Ok(fd) => fd,
        Err(e) => {
            // Load again with the verifier's log to say why.
            let mut log = vec![0u8; 1 << 16];
            let _ = load(&prog, Some(&mut log));
            let text = String::from_utf8_lossy(&log);
            let text = text.trim_end_matches('\0').trim();
            let tail: Vec<&str> = text.lines().rev().take(3).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(CgroupError::BpfLoad {
                source: e,
                verifier: tail.join(" / "),
            });
        }
    };
    // SAFETY: bpf returned a new fd that nothing else owns.
    let prog_fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let cg = std::fs::File::open(dir).map_err(|e| CgroupError::io("open", dir, e))?;
    let mut attach = ProgAttachAttr {
        target_fd: cg.as_raw_fd() as u32,
        attach_bpf_fd: prog_fd.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    bpf(BPF_PROG_ATTACH, &mut attach)
        .map_err(|e| CgroupError::io("attach the device eBPF program to", dir, e))?;
    Ok(prog_fd)
}

#[cfg(test)]
mod tests {
    use super::super::{device_rules, Device};
    use super::*;

    /// Runs the program's subset of eBPF on a device access.
    fn allows(prog: &[Insn], ty: i32, access: i32, major: u32, minor: u32) -> bool {
        let ctx = [((access << 16) | ty) as u32, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            let (dst, src) = ((i.regs & 0x0f) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_MEM_W => r[dst] = ctx[i.off as usize / 4] as u64,
                MOV64_X => r[dst] = r[src],
                MOV64_K => r[dst] = i.imm as i64 as u64,
                AND64_K => r[dst] &= i.imm as i64 as u64,
                RSH64_K => r[dst] >>= i.imm,
                JNE_K => {
                    if r[dst] != i.imm as i64 as u64 {
                        pc = (pc as i64 + i.off as i64) as usize;
                    }
                }
                JEQ_K => {
                    if r[dst] == i.imm as i64 as u64 {
                        pc = (pc as i64 + i.off as i64) as usize;
                    }
                }
                EXIT => return r[0] == 1,
                c => panic!("opcode {c:#x}"),
            }
        }
    }

    #[test]
    fn allowlist_matches_dockers_defaults() {
        let loop0 = Device {
            host_path: "/dev/loop0".into(),
            container_path: "/dev/loop0".into(),
            kind: 'b',
            major: 7,
            minor: 0,
            permissions: "rw".into(),
            mode: 0o660,
            uid: 0,
            gid: 0,
        };
        let p = device_program(&device_rules(&[loop0], &[]));
        let rw = ACC_READ | ACC_WRITE;
        assert!(allows(&p, DEV_CHAR, rw, 1, 3)); // null
        assert!(allows(&p, DEV_CHAR, rw, 136, 4)); // a pty
        assert!(allows(&p, DEV_CHAR, ACC_MKNOD, 1, 1)); // mknod of anything
        assert!(!allows(&p, DEV_CHAR, ACC_READ, 1, 1)); // but not reading /dev/mem
        assert!(!allows(&p, DEV_BLOCK, ACC_READ, 8, 0));
        assert!(allows(&p, DEV_BLOCK, rw, 7, 0));
        assert!(!allows(&p, DEV_BLOCK, rw, 7, 1));
        assert!(!allows(&p, DEV_CHAR, rw, 7, 0)); // right numbers, wrong type
    }

    #[test]
    fn later_rules_win_and_wildcards_and_denies_apply() {
        let rule = |allow, kind, major, minor, access: &str| DeviceRule {
            allow,
            kind,
            major,
            minor,
            access: access.into(),
        };
        let extra = [
            rule(true, 'c', Some(10), None, "rw"),
            rule(false, 'c', Some(1), Some(3), "w"),
        ];
        let p = device_program(&device_rules(&[], &extra));
        assert!(allows(&p, DEV_CHAR, ACC_READ, 10, 200)); // wildcard minor
        assert!(!allows(&p, DEV_CHAR, ACC_MKNOD | ACC_READ, 10, 200));
        assert!(allows(&p, DEV_CHAR, ACC_READ, 1, 3)); // /dev/null still readable
        assert!(!allows(&p, DEV_CHAR, ACC_WRITE, 1, 3)); // but no longer writable
        assert!(!allows(&p, DEV_CHAR, ACC_READ | ACC_WRITE, 1, 3));
        let all = device_program(&device_rules(&[], &[rule(true, 'a', None, None, "rwm")]));
        assert!(allows(&all, DEV_BLOCK, ACC_READ | ACC_WRITE, 8, 0));
        let none = device_program(&device_rules(&[], &[rule(false, 'a', None, None, "rwm")]));
        assert!(!allows(&none, DEV_CHAR, ACC_READ, 1, 3));
    }

    /// On a hybrid host the unified hierarchy takes device programs too: load and attach
    /// for real, then open devices from a shell moved into that cgroup.
    #[test]
    fn kernel_accepts_and_enforces_the_program() {
        let unified = Path::new("/sys/fs/cgroup/unified");
        let root = if super::super::detect() == super::super::CgroupLayout::V2 {
            Path::new(super::super::CGROUP_ROOT)
        } else if unified.join("cgroup.procs").exists() {
            unified
        } else {
            crate::test_skip::skip_log(
                "no cgroup v2 hierarchy (neither v2 nor a hybrid unified one)",
            );
            return;
        };
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            crate::test_skip::skip_log("needs root to attach a device program");
            return;
        }
        let dir = root
            .join("kiste")
            .join(format!("bpf-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fd = attach_device_filter(&dir, &device_rules(&[], &[])).unwrap();
        drop(fd); // the attachment keeps the program alive
        let script = format!(
            "echo $$ > {}/cgroup.procs; (: < /dev/kmsg); echo kmsg=$?; (: < /dev/null); echo null=$?",
            dir.display()
        );
        let out = std::process::Command::new("/bin/busybox")
            .args(["sh", "-c", &script])
            .output()
            .unwrap();
        let _ = std::fs::remove_dir(&dir);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "kmsg=1\nnull=0\n");
        assert!(String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"));
    }
}
