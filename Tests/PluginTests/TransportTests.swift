import LibuvTransport
import Logging
import ModuleAPI
import NIOTransport
import TransportConformance
import XCTest

private let logger = Logger(label: "TransportTests")
private let libuv: TransportConformance.Factory = { LibuvTransport(logger: logger) }
private let nio: TransportConformance.Factory = { NIOTransport(logger: logger) }

/// Each transport module against the shared conformance checks, and against each other: any
/// port of any server may run either, so their bytes must meet.
final class TransportTests: XCTestCase {
    func testLibuvConforms() throws {
        try TransportConformance(libuv).checkAll()
    }

    func testNIOConforms() throws {
        try TransportConformance(nio).checkAll()
    }

    func testNIOClientsReachLibuvListeners() throws {
        try TransportConformance(libuv, client: nio).checkInteroperation()
    }

    func testLibuvClientsReachNIOListeners() throws {
        try TransportConformance(nio, client: libuv).checkInteroperation()
    }
}
