import Foundation
import Testing
import ZeroMQ

@Suite("Poller and WakeUp")
struct PollerTests {
    @Test("A thread blocked in poll(-1) is woken by signal() from another thread")
    func wakeUpWakesBlockedPoll() throws {
        let context = try Context()
        defer { context.terminate() }
        let wakeUp = try WakeUp()
        defer { wakeUp.close() }
        let pull = try context.makeSocket(.pull)
        try pull.bind("inproc://idle-\(UUID().uuidString)")

        let result = Box<Result<[PollResult], ZMQError>?>(nil)
        let wakeIndex = Box(-1)
        let pollStarted = DispatchSemaphore(value: 0)
        let done = onThread {
            defer { pull.close() }
            var poller = Poller()
            poller.add(pull)
            wakeIndex.value = poller.add(fileDescriptor: wakeUp.fileDescriptor)
            pollStarted.signal()
            do {
                result.value = .success(try poller.poll(timeoutMilliseconds: -1))
            } catch let error as ZMQError {
                result.value = .failure(error)
            } catch {}
            wakeUp.drain()
        }
        #expect(pollStarted.wait(timeout: .now() + 5) == .success)
        Thread.sleep(forTimeInterval: 0.1) // let it block
        #expect(result.value == nil, "poll returned before the signal")
        wakeUp.signal()
        let woke = done.wait(timeout: .now() + 5) == .success
        #expect(woke)
        if !woke {
            context.shutdown() // unblock the poll (ETERM) so the test ends
            _ = done.wait(timeout: .now() + 5)
        }
        let ready = try #require(try result.value?.get())
        #expect(ready == [PollResult(index: wakeIndex.value, readable: true, writable: false)])
    }

    @Test("Poll reports readable and writable sockets, drained wake-ups and timeouts")
    func readiness() throws {
        try withPushPull(.inproc) { push, pull in
            let wakeUp = try WakeUp()
            defer { wakeUp.close() }

            var poller = Poller()
            let pullIndex = poller.add(pull)
            let pushIndex = poller.add(push, readable: false, writable: true)
            let wakeIndex = poller.add(fileDescriptor: wakeUp.fileDescriptor)
            #expect(poller.count == 3)

            // Only the PUSH has room to send.
            #expect(try poller.poll(timeoutMilliseconds: 1000) == [PollResult(index: pushIndex, readable: false, writable: true)])

            try push.send(Message(strings: ["ping"]))
            wakeUp.signal()
            wakeUp.signal() // coalesces
            let ready = try poller.poll(timeoutMilliseconds: 1000)
            #expect(ready.isReadable(pullIndex))
            #expect(ready.isWritable(pushIndex))
            #expect(ready.isReadable(wakeIndex))
            #expect(try pull.events().readable)

            wakeUp.drain()
            #expect(try pull.receive(dontWait: true)?.strings == ["ping"])
            #expect(try pull.events().readable == false)

            // Nothing left but the writable PUSH; without it, the poll times out empty.
            var idle = Poller()
            idle.add(pull)
            idle.add(fileDescriptor: wakeUp.fileDescriptor)
            let clock = ContinuousClock()
            let start = clock.now
            #expect(try idle.poll(timeoutMilliseconds: 50).isEmpty)
            #expect(start.duration(to: clock.now) >= .milliseconds(40))
        }
    }

    @Test("Polling a closed socket throws ENOTSOCK")
    func pollClosedSocket() throws {
        let context = try Context()
        defer { context.terminate() }
        let socket = try context.makeSocket(.pull)
        var poller = Poller()
        poller.add(socket)
        socket.close()
        #expect(throws: ZMQError(code: ENOTSOCK, operation: "zmq_poll")) {
            try poller.poll(timeoutMilliseconds: 0)
        }
    }

    @Test("ZMQ_FD is a descriptor, and signal() after close() is harmless")
    func descriptors() throws {
        let context = try Context()
        defer { context.terminate() }
        let socket = try context.makeSocket(.dealer)
        defer { socket.close() }
        #expect(try socket.fileDescriptor() >= 0)
        let wakeUp = try WakeUp()
        #expect(wakeUp.fileDescriptor >= 0)
        #if os(Linux)
        let target = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(wakeUp.fileDescriptor)")
        #expect(target.contains("eventfd"), "WakeUp fell back to \(target)")
        #endif
        wakeUp.close()
        #expect(wakeUp.fileDescriptor == -1)
        wakeUp.signal()
        wakeUp.drain()
        wakeUp.close()
    }
}
