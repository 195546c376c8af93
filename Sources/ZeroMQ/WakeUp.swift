import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A wake-up file descriptor, so that an I/O thread blocked in ``Poller/poll(timeoutMilliseconds:)``
/// (with the descriptor added by ``Poller/add(fileDescriptor:)``) can be woken for shutdown or for
/// outbound messages queued by other threads, without spinning or short timeouts.
///
/// On Linux it is an `eventfd` (nonblocking, close-on-exec); elsewhere, or if `eventfd` cannot be
/// found, a nonblocking pipe. Signals coalesce: many ``signal()`` calls before a ``drain()`` wake
/// the poller once.
///
/// Thread safety (`@unchecked Sendable`): ``signal()`` may be called from any thread at any time,
/// also after ``close()`` (then it does nothing); ``drain()`` belongs to the polling thread;
/// ``close()`` is called once nobody polls it any more. A lock keeps a late `signal()` from writing
/// to a closed (and possibly reused) descriptor number.
public final class WakeUp: @unchecked Sendable {
    private struct Descriptors {
        var read: Int32
        var write: Int32
    }

    private let descriptors: Locked<Descriptors>
    private let isEventFD: Bool

    /// Opens the descriptor(s). Throws the `errno` of `eventfd`/`pipe` (e.g. `EMFILE`).
    public init() throws {
        #if os(Linux)
        if let eventfd = WakeUp.eventfdFunction {
            let fd = eventfd(0, O_NONBLOCK | O_CLOEXEC) // EFD_NONBLOCK, EFD_CLOEXEC
            if fd < 0 {
                throw ZMQError(code: errno, operation: "eventfd")
            }
            descriptors = Locked(Descriptors(read: fd, write: fd))
            isEventFD = true
            return
        }
        #endif
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 {
            throw ZMQError(code: errno, operation: "pipe")
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        descriptors = Locked(Descriptors(read: fds[0], write: fds[1]))
        isEventFD = false
    }

    deinit {
        close()
    }

    #if os(Linux)
    private typealias EventFD = @convention(c) (UInt32, Int32) -> Int32
    /// `eventfd(2)` from the C library: Swift's Glibc module does not import `<sys/eventfd.h>`.
    private static let eventfdFunction: EventFD? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "eventfd") else { return nil }
        return unsafeBitCast(symbol, to: EventFD.self)
    }()
    #endif

    /// The descriptor to poll for readability; -1 after ``close()``.
    public var fileDescriptor: Int32 {
        descriptors.withLock { $0.read }
    }

    /// Makes ``fileDescriptor`` readable until the next ``drain()``. Never blocks; any thread.
    public func signal() {
        descriptors.withLock { fds in
            guard fds.write >= 0 else { return }
            if isEventFD {
                var one: UInt64 = 1
                while write(fds.write, &one, 8) < 0 && errno == EINTR {}
            } else {
                var one: UInt8 = 1
                while write(fds.write, &one, 1) < 0 && errno == EINTR {}
            }
            // EAGAIN: the counter or pipe is full, so the descriptor is readable already.
        }
    }

    /// Consumes all pending signals, so the descriptor is no longer readable. Call it from the
    /// polling thread when the poller reports the descriptor readable, before looking at the work
    /// that the signal announced (so a signal sent meanwhile is not lost).
    public func drain() {
        let fd = fileDescriptor
        guard fd >= 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { continue }
            if n < 0 && errno == EINTR { continue }
            return
        }
    }

    /// Closes the descriptor(s). Idempotent; later ``signal()`` calls do nothing.
    public func close() {
        descriptors.withLock { fds in
            if fds.read >= 0 { _ = closeDescriptor(fds.read) }
            if fds.write >= 0 && fds.write != fds.read { _ = closeDescriptor(fds.write) }
            fds.read = -1
            fds.write = -1
        }
    }
}

/// `close(2)`, which `WakeUp.close()` hides.
private func closeDescriptor(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.close(fd)
    #else
    Darwin.close(fd)
    #endif
}
