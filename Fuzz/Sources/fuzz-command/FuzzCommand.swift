// libFuzzer harness: the command endpoint's request decoding (framing, strict JSON, `op`) and the field readers
// the dispatch worker's handlers use, on every field of every request that gets that far.
//
// Besides "no crash, no hang, no leak" it checks that every refusal has a message, that a whole number read is
// exactly the JSON number and below 9e15, and that an area read is a valid area path.

import FuzzSupport
import TocsinCore
import TocsinWorkers

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCommand(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    switch CommandRequestDecoder.decode(FuzzSupport.bytes(data, size)) {
    case .failure(let error):
        if error.message.isEmpty { FuzzSupport.violated("command error without a message") }
    case .success(let request):
        if request.fields["op"] != .string(request.op) { FuzzSupport.violated("op \(request.op) not the request's") }
        for key in request.fields.keys { read(request, key) }
        // The fields every op reads, also when absent: the "missing field" paths.
        for key in ["seq", "prefix", "warning", "by", "incident", "task", "state"] { read(request, key) }
    }
    return 0
}

private func read(_ request: CommandRequestDecoder.Request, _ key: String) {
    expectMessage { () throws(CommandError) in _ = try request.string(key) }
    expectMessage { () throws(CommandError) in _ = try request.optionalString(key) }
    expectMessage { () throws(CommandError) in
        let n = try request.integer(key)
        guard case .number(let x)? = request.fields[key], Double(n) == x, abs(x) < 9e15 else {
            FuzzSupport.violated("whole number \(n) read from \(String(describing: request.fields[key]))")
        }
    }
    expectMessage { () throws(CommandError) in
        let path = try request.area(key)
        if !AreaPath.isValid(path.rawValue) { FuzzSupport.violated("invalid area path \(path) read") }
    }
}

/// Runs a reader; a refusal must say why.
private func expectMessage(_ body: () throws(CommandError) -> Void) {
    do throws(CommandError) {
        try body()
    } catch {
        if error.message.isEmpty { FuzzSupport.violated("command error without a message") }
    }
}
