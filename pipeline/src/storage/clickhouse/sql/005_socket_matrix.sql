-- The flow matrix from socket knowledge alone, as skydive-flow-matrix's topology mode: at time t, every
-- connected socket whose remote port is listened on by the namespace holding its remote address is a
-- client of that listener. Needs no captured flow; sees what the socketinfo probe saw at its polls.
--   SELECT * FROM skystream.socket_matrix(t = now64(3))
-- A listener bound to the wildcard answers for the addresses of its namespace's interfaces; a loopback
-- address only within one namespace.
CREATE VIEW IF NOT EXISTS {db}.socket_matrix {on_cluster} AS
WITH
    sockets AS (
        SELECT ID AS NsID, Host, if(Type = 'netns', Name, '') AS Netns,
               JSONExtractString(s, 'Protocol') AS Protocol,
               JSONExtractString(s, 'LocalAddress') AS LocalAddress,
               toUInt16(JSONExtractUInt(s, 'LocalPort')) AS LocalPort,
               JSONExtractString(s, 'RemoteAddress') AS RemoteAddress,
               toUInt16(JSONExtractUInt(s, 'RemotePort')) AS RemotePort,
               JSONExtractString(s, 'State') AS State,
               JSONExtractString(s, 'Process') AS Proc,
               JSONExtractString(s, 'Name') AS ProcName,
               State = 'LISTEN' OR (Protocol = 'UDP' AND RemotePort = 0) AS Listening
        FROM {db}.topology_at(t = {t:DateTime64(3)})
        ARRAY JOIN JSONExtractArrayRaw(Metadata, 'Sockets') AS s
        WHERE Kind = 'node' AND Type IN ('host', 'netns')
    ),
    addresses AS (
        SELECT e.Parent AS NsID, replaceRegexpOne(a, '/\\d+$', '') AS Address
        FROM (SELECT ID, Metadata FROM {db}.topology_at(t = {t:DateTime64(3)}) WHERE Kind = 'node') AS i
        ARRAY JOIN arrayConcat(JSONExtract(i.Metadata, 'IPV4', 'Array(String)'), JSONExtract(i.Metadata, 'IPV6', 'Array(String)')) AS a
        INNER JOIN (SELECT Parent, Child FROM {db}.topology_at(t = {t:DateTime64(3)}) WHERE Kind = 'edge' AND RelationType = 'ownership') AS e
            ON e.Child = i.ID
    )
SELECT c.Protocol AS Protocol, srv.Host AS Server, c.RemoteAddress AS ServerIP, c.RemotePort AS Port,
       srv.Proc AS ServerProc, srv.ProcName AS ServerProcName, srv.Netns AS ServerNetns,
       c.Host AS Client, c.LocalAddress AS ClientIP, c.Proc AS ClientProc, c.ProcName AS ClientProcName, c.Netns AS ClientNetns
FROM (SELECT * FROM sockets WHERE NOT Listening AND RemotePort != 0) AS c
INNER JOIN (SELECT * FROM sockets WHERE Listening) AS srv ON srv.Protocol = c.Protocol AND srv.LocalPort = c.RemotePort
WHERE (srv.LocalAddress = c.RemoteAddress OR (srv.LocalAddress IN ('0.0.0.0', '::') AND (srv.NsID, c.RemoteAddress) IN (SELECT NsID, Address FROM addresses)))
  AND (srv.NsID = c.NsID OR NOT (startsWith(c.RemoteAddress, '127.') OR c.RemoteAddress = '::1'))
GROUP BY ALL;
