import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error reported by libzmq (or by the small amount of POSIX this module calls directly).
///
/// `code` is the `errno` value read with `zmq_errno()` immediately after the failing call, and
/// `operation` names what was attempted (the C function, plus the option or endpoint where that helps).
///
/// Conventions of this module, following the libzmq man pages
/// (http://api.zeromq.org/4-3:zmq-errno):
/// - `EAGAIN` is never thrown: it is an ordinary outcome of a non-blocking or timed call and is
///   returned as a value (`nil` from `Socket.receive`, `false` from `Socket.send`).
/// - `EINTR` is never thrown: the wrappers retry the interrupted call.
/// - `ETERM` is thrown, so the owner of a socket learns that its context is shutting down;
///   check it with ``isTerminated``.
public struct ZMQError: Error, CustomStringConvertible, Sendable, Hashable {
    /// The `errno` value (a POSIX code or one of libzmq's own, such as `ETERM`).
    public let code: Int32
    /// What failed, e.g. `zmq_bind(tcp://127.0.0.1:x)` or `zmq_setsockopt(ZMQ_LINGER)`.
    public let operation: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// True when the socket's context was shut down (`ETERM`): the owner should close its socket
    /// and stop using it.
    public var isTerminated: Bool { code == ETERM }

    /// `operation: <zmq_strerror text> (errno N)`.
    public var description: String {
        "\(operation): \(String(cString: zmq_strerror(code))) (errno \(code))"
    }

    /// The error of the call that just failed: reads `zmq_errno()`, so call it right after the failure.
    @inline(__always)
    static func last(_ operation: @autoclosure () -> String) -> ZMQError {
        let code = zmq_errno()
        return ZMQError(code: code, operation: operation())
    }
}

/// Runs a libzmq call that returns -1 on failure, retrying it while it fails with `EINTR`
/// and throwing any other failure (including `EAGAIN`: callers that treat `EAGAIN` as a value
/// do not use this helper).
@inline(__always)
@discardableResult
func zmqRetrying(_ operation: @autoclosure () -> String, _ call: () -> Int32) throws -> Int32 {
    while true {
        let rc = call()
        if rc >= 0 { return rc }
        let code = zmq_errno()
        if code == EINTR { continue }
        throw ZMQError(code: code, operation: operation())
    }
}
