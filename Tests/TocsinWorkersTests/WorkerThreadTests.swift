import Foundation
import Synchronization
import Testing
import TocsinStore
@testable import TocsinWorkers

@Suite struct WorkerThreadTests {
    /// The kernel's name of a worker's thread (`/proc/thread-self/comm`): what top, perf and the benchmark's CPU by
    /// thread show. Several threads started one after the other, each asked from inside.
    @Test func workerThreadsCarryTheirNamesInTheKernel() throws {
        let names = (0..<8).map { "tw-\($0)-\(getpid() % 1000)" }
        let seen = Mutex<[String: String]>([:])
        var threads: [WorkerThread] = []
        for name in names {
            let thread = try WorkerThread(name: name)
            threads.append(thread)
            thread.start { [thread] in
                let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
                seen.withLock { $0[name] = comm.trimmingCharacters(in: .whitespacesAndNewlines) }
                while !thread.isStopping { usleep(1000) }
            }
        }
        for thread in threads { #expect(thread.stop()) }
        let result = seen.withLock { $0 }
        for name in names { #expect(result[name] == name) }
    }

    @Test func longNamesAreCutToFifteenBytes() throws {
        let seen = Mutex<String>("")
        let done = DispatchSemaphore(value: 0)
        Thread {
            setKernelThreadName("a-name-longer-than-fifteen")
            let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
            seen.withLock { $0 = comm.trimmingCharacters(in: .whitespacesAndNewlines) }
            done.signal()
        }.start()
        done.wait()
        #expect(seen.withLock { $0 } == "a-name-longer-t")
    }
}
