extension ZooKeeperClient {
    /// Runs the ops as one transaction: all or none. On failure every result is an error: the
    /// failing op's code, and for the others ok (before it) or RuntimeInconsistency (after it),
    /// as ZooKeeper reports them.
    public func multi(_ ops: [Op]) async throws -> [OpResult] {
        let requests = try ops.map(encode)
        let reply = try await send(.multi, path: nil) { w in
            for (type, body) in requests {
                MultiHeader(type: type.rawValue, done: false, err: -1).write(to: &w)
                w.writeRaw(body)
            }
            MultiHeader.end.write(to: &w)
        }
        var reader = JuteReader(reply.body, offset: reply.bodyOffset)
        do {
            return try readResults(&reader)
        } catch {
            throw ClientError.keeper(.marshallingError, path: nil)
        }
    }

    private func encode(_ op: Op) throws -> (OpCode, [UInt8]) {
        switch op {
        case .create(let path, let data, let acl, let mode, let ttl):
            try PathRules.validate(path, sequential: mode.isSequential)
            // ZooKeeper's Op.create: a plain create answers with the path alone.
            let opCode: OpCode = mode.isTTL ? .createTTL : mode.isContainer ? .createContainer : .create
            return (opCode, CreateRequest(path: connectString.serverPath(path), data: data, acl: acl, flags: mode.rawValue,
                                          ttl: mode.isTTL ? ttl ?? 0 : nil).serialized())
        case .delete(let path, let version):
            try PathRules.validate(path)
            return (.delete, PathVersionRequest(path: connectString.serverPath(path), version: version).serialized())
        case .setData(let path, let data, let version):
            try PathRules.validate(path)
            return (.setData, SetDataRequest(path: connectString.serverPath(path), data: data, version: version).serialized())
        case .check(let path, let version):
            try PathRules.validate(path)
            return (.check, PathVersionRequest(path: connectString.serverPath(path), version: version).serialized())
        }
    }

    private func readResults(_ reader: inout JuteReader) throws -> [OpResult] {
        var results: [OpResult] = []
        while true {
            let header = try reader.readRecord(MultiHeader.self)
            if header.done { return results }
            switch OpCode(rawValue: header.type) {
            case .create:
                let path = try reader.readRecord(PathResponse.self).path
                results.append(.created(path: connectString.clientPath(path), stat: nil))
            case .create2:
                let response = try reader.readRecord(Create2Response.self)
                results.append(.created(path: connectString.clientPath(response.path), stat: response.stat))
            case .delete: results.append(.deleted)
            case .setData: results.append(.set(try reader.readRecord(StatResponse.self).stat))
            case .check: results.append(.checked)
            case .error:
                let code = try reader.readRecord(ErrorResponse.self).err
                results.append(.error(KeeperError(rawValue: code) ?? .systemError))
            default:
                throw ClientError.keeper(.marshallingError, path: nil)
            }
        }
    }
}
