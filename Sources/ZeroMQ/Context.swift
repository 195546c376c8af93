import CZeroMQ

/// A libzmq context (`zmq_ctx_new`): owns the I/O threads and the `inproc://` namespace
/// in which sockets made from it live.
///
/// Thread safety: libzmq contexts are thread-safe, and so is this class (`@unchecked Sendable`):
/// any thread may make sockets and call ``shutdown()``. ``terminate()`` must be the last call on
/// the context; it blocks until every socket made from it is closed.
///
/// Shutdown is in two phases (http://api.zeromq.org/4-3:zmq-ctx-term):
/// 1. ``shutdown()`` (`zmq_ctx_shutdown`): every blocking call on every socket of the context
///    (`receive`, `send`, `Poller.poll`) returns with `ETERM`, thrown as a ``ZMQError`` whose
///    `isTerminated` is true; each socket's owner then closes its socket.
/// 2. ``terminate()`` (`zmq_ctx_term`): waits for those closes, then frees the context. Because every
///    ``Socket`` gets a `ZMQ_LINGER` when it is made (0 by default), pending outbound messages never
///    hold it up longer than that linger.
///
/// A ``Socket`` keeps its context alive, so `deinit` (which terminates a context that was not
/// terminated) only runs once all of its sockets are gone.
public final class Context: @unchecked Sendable {
    private struct State {
        var isShutDown = false
        var isTerminated = false
    }

    /// The `void *` context handle, for calling libzmq directly (e.g. `zmq_socket_monitor` peers).
    /// Valid until ``terminate()``.
    public let raw: UnsafeMutableRawPointer
    private let state = Locked(State())

    /// Makes a context with `ioThreads` I/O threads (`ZMQ_IO_THREADS`; one is plenty below
    /// about a gigabyte per second of traffic).
    public init(ioThreads: Int = 1) throws {
        guard let context = zmq_ctx_new() else {
            throw ZMQError.last("zmq_ctx_new")
        }
        if zmq_ctx_set(context, ZMQ_IO_THREADS, Int32(clamping: ioThreads)) != 0 {
            let error = ZMQError.last("zmq_ctx_set(ZMQ_IO_THREADS)")
            zmq_ctx_term(context)
            throw error
        }
        raw = context
    }

    deinit {
        terminate()
    }

    /// Makes a socket of `type` with `ZMQ_LINGER` set to `linger` milliseconds (0 by default:
    /// on close, unsent messages are dropped at once, so ``terminate()`` cannot hang on them).
    ///
    /// The returned socket belongs to the thread that uses it; see ``Socket``.
    public func makeSocket(_ type: SocketType, linger: Int32 = 0) throws -> Socket {
        let terminated = state.withLock { $0.isTerminated }
        if terminated {
            throw ZMQError(code: ETERM, operation: "zmq_socket")
        }
        return try Socket(context: self, type: type, linger: linger)
    }

    /// True once ``shutdown()`` or ``terminate()`` was called.
    public var isShutDown: Bool {
        state.withLock { $0.isShutDown || $0.isTerminated }
    }

    /// Phase one of shutdown (`zmq_ctx_shutdown`): makes every blocking call on this context's
    /// sockets return `ETERM`, and every later call on them fail with `ETERM`, so their owner
    /// threads notice and close them. Returns at once; safe to call from any thread, more than once.
    /// http://api.zeromq.org/4-3:zmq-ctx-shutdown
    public func shutdown() {
        state.withLock { state in
            guard !state.isShutDown, !state.isTerminated else { return }
            state.isShutDown = true
            zmq_ctx_shutdown(raw)
        }
    }

    /// Phase two of shutdown (`zmq_ctx_term`, retried on `EINTR`): blocks until every socket of
    /// the context is closed, then frees it. Call it after the sockets' owners closed them
    /// (calling ``shutdown()`` first makes them notice). It never hangs on unsent messages,
    /// because every socket has a linger. Idempotent.
    /// http://api.zeromq.org/4-3:zmq-ctx-term
    public func terminate() {
        let shouldTerminate = state.withLock { state -> Bool in
            guard !state.isTerminated else { return false }
            state.isTerminated = true
            state.isShutDown = true
            return true
        }
        guard shouldTerminate else { return }
        while zmq_ctx_term(raw) != 0 {
            if zmq_errno() != EINTR { break }
        }
    }
}
