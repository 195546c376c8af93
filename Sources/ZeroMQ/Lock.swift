import Foundation

/// A value guarded by a lock, for the little state in this module that several threads touch.
/// (`Synchronization.Mutex` would do, but it needs macOS 15 and the package targets macOS 14.)
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
