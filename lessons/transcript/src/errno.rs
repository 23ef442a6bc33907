//! Errno numbers to the names a learner can search for. `nix` names every errno
//! the C library knows; the kernel's internal ENOTSUPP and libbpf's own codes
//! (4000 and up) are in no C library, so they are listed here.

use nix::errno::Errno;

/// The symbolic name of an errno, including libbpf's own codes.
pub fn name(errno: i32) -> Option<String> {
    let own = match errno {
        524 => "ENOTSUPP",
        4000 => "LIBBPF_ERRNO__LIBELF",
        4001 => "LIBBPF_ERRNO__FORMAT",
        4002 => "LIBBPF_ERRNO__KVERSION",
        4003 => "LIBBPF_ERRNO__ENDIAN",
        4004 => "LIBBPF_ERRNO__INTERNAL",
        4005 => "LIBBPF_ERRNO__RELOC",
        4006 => "LIBBPF_ERRNO__LOAD",
        4007 => "LIBBPF_ERRNO__VERIFY",
        4008 => "LIBBPF_ERRNO__PROG2BIG",
        4009 => "LIBBPF_ERRNO__KVER",
        4010 => "LIBBPF_ERRNO__PROGTYPE",
        4011 => "LIBBPF_ERRNO__WRNGPID",
        4012 => "LIBBPF_ERRNO__INVSEQ",
        4013 => "LIBBPF_ERRNO__NLPARSE",
        _ => return Some(Errno::from_raw(errno)).filter(|e| *e != Errno::UnknownErrno).map(|e| format!("{e:?}")),
    };
    Some(own.to_string())
}

/// Finds the errno in an error's text: io::Error renders it as `(os error N)`.
pub fn from_message(message: &str) -> Option<i32> {
    let start = message.rfind("(os error ")? + "(os error ".len();
    let digits = &message[start..];
    let end = digits.find(')')?;
    digits[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_common_and_libbpf_codes() {
        // Every errno the transcripts have named so far keeps its name.
        let named = [
            (1, "EPERM"),
            (2, "ENOENT"),
            (3, "ESRCH"),
            (4, "EINTR"),
            (5, "EIO"),
            (7, "E2BIG"),
            (8, "ENOEXEC"),
            (9, "EBADF"),
            (11, "EAGAIN"),
            (12, "ENOMEM"),
            (13, "EACCES"),
            (14, "EFAULT"),
            (16, "EBUSY"),
            (17, "EEXIST"),
            (19, "ENODEV"),
            (22, "EINVAL"),
            (24, "EMFILE"),
            (28, "ENOSPC"),
            (34, "ERANGE"),
            (38, "ENOSYS"),
            (61, "ENODATA"),
            (71, "EPROTO"),
            (95, "EOPNOTSUPP"),
            (99, "EADDRNOTAVAIL"),
            (110, "ETIMEDOUT"),
            (524, "ENOTSUPP"),
            (4001, "LIBBPF_ERRNO__FORMAT"),
            (4013, "LIBBPF_ERRNO__NLPARSE"),
        ];
        for (errno, expected) in named {
            assert_eq!(name(errno).as_deref(), Some(expected), "errno {errno}");
        }
        assert_eq!(name(0), None);
        assert_eq!(name(123_456), None);
    }

    #[test]
    fn reads_the_last_os_error_in_a_chain() {
        let text = "failed to open object: No such file or directory (os error 2)";
        assert_eq!(from_message(text), Some(2));
        assert_eq!(from_message("Invalid argument (os error 22)"), Some(22));
        assert_eq!(from_message("no errno here"), None);
        assert_eq!(from_message("(os error x)"), None);
    }
}
