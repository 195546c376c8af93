import Dispatch

/// Where the HTTP server's tasks run: threads of its own (a concurrent dispatch queue, which may grow when work
/// blocks), not Swift's cooperative pool. The pool has one thread per core (two here); code that blocks a pool
/// thread, such as a ZeroMQ wait in a worker or a test, must never be able to stall the server.
final class HTTPExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = HTTPExecutor()
    private let queue = DispatchQueue(label: "tocsin.http.tasks", attributes: .concurrent)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
