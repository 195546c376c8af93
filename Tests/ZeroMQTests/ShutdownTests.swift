import Foundation
import Testing
import ZeroMQ

@Suite("Context shutdown")
struct ShutdownTests {
    /// Two-phase shutdown with messages that can never be sent and a socket blocked in receive on
    /// its owner thread: shutdown wakes the owner (ETERM), it closes its socket, terminate returns.
    @Test("Shutdown with unsent messages and open sockets returns within 1 s (50 times)")
    func shutdownIsPrompt() throws {
        let clock = ContinuousClock()
        for iteration in 0..<50 {
            let context = try Context()
            // Nothing listens at either endpoint, so the messages queue in pipes.
            let push = try context.makeSocket(.push, linger: iteration.isMultiple(of: 2) ? 0 : 20)
            try push.connect("tcp://127.0.0.1:1")
            try push.connect("inproc://nobody-\(UUID().uuidString)")
            for index in 0..<20 {
                #expect(try push.send(Message(strings: ["unsent", "\(index)"]), dontWait: true))
            }

            let pull = try context.makeSocket(.pull)
            try pull.bind("inproc://owner-\(UUID().uuidString)")
            let sawTermination = Box(false)
            let ownerDone = onThread {
                do {
                    _ = try pull.receive() // blocks: nobody sends
                } catch let error as ZMQError {
                    sawTermination.value = error.isTerminated
                } catch {}
                pull.close()
            }

            let start = clock.now
            context.shutdown()
            let ownerFinished = ownerDone.wait(timeout: .now() + 5) == .success
            push.close()
            if ownerFinished {
                context.terminate()
            }
            let elapsed = start.duration(to: clock.now)
            #expect(ownerFinished)
            #expect(sawTermination.value)
            #expect(elapsed < .seconds(1), "iteration \(iteration) took \(elapsed)")
            if !ownerFinished { break }
        }
    }

    @Test("After shutdown, calls on open sockets throw ETERM and making sockets fails")
    func callsAfterShutdownThrowTerminated() throws {
        let context = try Context()
        let socket = try context.makeSocket(.dealer)
        context.shutdown()
        #expect(context.isShutDown)
        #expect(throws: ZMQError.self) { try socket.receive() }
        do {
            _ = try socket.send(Message(strings: ["x"]))
            Issue.record("send after shutdown did not throw")
        } catch let error as ZMQError {
            #expect(error.isTerminated)
        }
        do {
            let late = try context.makeSocket(.pull)
            late.close()
            Issue.record("makeSocket after shutdown did not throw")
        } catch let error as ZMQError {
            #expect(error.isTerminated)
        }
        socket.close()
        context.terminate()
        context.terminate() // idempotent
        do {
            let late = try context.makeSocket(.pull)
            late.close()
            Issue.record("makeSocket after terminate did not throw")
        } catch let error as ZMQError {
            #expect(error.isTerminated)
            #expect(error.operation == "zmq_socket")
        }
    }

    @Test("A socket keeps its context alive; a context without sockets terminates on deinit")
    func contextLifetime() throws {
        var socket: Socket? = try Context().makeSocket(.pub)
        #expect(socket?.context.isShutDown == false)
        socket?.close()
        socket = nil // releases the context, whose deinit terminates it without hanging
        #expect(socket == nil)
    }
}
