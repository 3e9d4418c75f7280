<?php
// A legacy client of the Octeth/Oempro API, written the way the public PHP client libraries call
// it: form posts and GETs to /api.php with ResponseFormat=JSON, reading $r['Success'] and
// $r['ErrorCode'][0]. Its GET mode repeats ResponseFormat (one public library does on every call),
// and, like the strictest of those libraries, it keeps no body whose HTTP status is not 200.
//
// php octeth_client.php BASE_URL USERNAME PASSWORD PROTECTED_DOMAIN_ID
// prints one JSON object: what the client read at each step.

// A warning (an offset read on a scalar ErrorCode) is a crash for this client, as in the library.
set_error_handler(function ($severity, $message) {
    throw new ErrorException($message, 0, $severity);
});

class OctethClient
{
    private $url;
    public $sessionId = null;

    public function __construct($baseUrl)
    {
        $this->url = rtrim($baseUrl, '/') . '/api.php';
    }

    private function decode($body, $headers)
    {
        $status = 0;
        if (isset($headers[0]) && preg_match('#^HTTP/\S+\s+(\d{3})#', $headers[0], $m)) {
            $status = (int)$m[1];
        }
        if ($status != 200) {
            return array('Success' => false, 'HTTPStatus' => $status, 'Dropped' => true);
        }
        $r = json_decode($body, true);
        return is_array($r) ? $r : array('Success' => false, 'Unreadable' => $body);
    }

    public function post($command, $params = array())
    {
        $params = array_merge(array('Command' => $command, 'ResponseFormat' => 'JSON'), $params);
        if ($this->sessionId !== null) {
            $params['SessionID'] = $this->sessionId;
        }
        $context = stream_context_create(array('http' => array(
            'method' => 'POST',
            'header' => "Content-Type: application/x-www-form-urlencoded\r\n",
            'content' => http_build_query($params),
            'ignore_errors' => true,
            'timeout' => 20,
        )));
        $body = file_get_contents($this->url, false, $context);
        return $this->decode($body, $http_response_header);
    }

    public function get($command, $params = array())
    {
        $params = array_merge(array('ResponseFormat' => 'JSON', 'Command' => $command), $params);
        if ($this->sessionId !== null) {
            $params['SessionID'] = $this->sessionId;
        }
        // As the library builds it: its defaults, then the call's query, ResponseFormat again.
        $query = http_build_query($params) . '&ResponseFormat=JSON';
        $context = stream_context_create(array('http' => array('method' => 'GET', 'ignore_errors' => true, 'timeout' => 20)));
        $body = file_get_contents($this->url . '?' . $query, false, $context);
        return $this->decode($body, $http_response_header);
    }
}

function step(&$report, $name, $fn)
{
    try {
        $report[$name] = $fn();
    } catch (Throwable $e) {
        $report[$name] = array('Crashed' => get_class($e) . ': ' . $e->getMessage());
    }
}

list(, $base, $username, $password, $protectedId) = $argv;
$report = array();
$api = new OctethClient($base);

step($report, 'login', function () use ($api, $username, $password) {
    $r = $api->post('user.login', array('Username' => $username, 'Password' => $password));
    if ($r['Success']) {
        $api->sessionId = $r['SessionID'];
    }
    return array('Success' => $r['Success'], 'HasSession' => !empty($r['SessionID']));
});
step($report, 'list', function () use ($api) {
    $r = $api->get('user.senderdomain.list');
    return array('Success' => $r['Success'], 'Count' => $r['Success'] ? count($r['SenderDomains']) : null);
});
step($report, 'create', function () use ($api) {
    $r = $api->post('user.senderdomain.create', array('SenderDomain' => 'legacy-php.example'));
    return array('Success' => $r['Success'], 'DomainID' => $r['Success'] ? $r['DomainID'] : null);
});
$created = isset($report['create']['DomainID']) ? $report['create']['DomainID'] : 0;
step($report, 'get', function () use ($api, $created) {
    $r = $api->get('user.senderdomain.get', array('DomainID' => $created));
    return array('Success' => $r['Success'],
                 'SenderDomain' => $r['Success'] ? $r['SenderDomain']['SenderDomain'] : null,
                 'Status' => $r['Success'] ? $r['SenderDomain']['Status'] : null);
});
step($report, 'delete', function () use ($api, $created) {
    $r = $api->post('user.senderdomain.delete', array('DomainID' => $created));
    return array('Success' => $r['Success']);
});
step($report, 'protected_delete', function () use ($api, $protectedId) {
    $r = $api->post('user.senderdomain.delete', array('DomainID' => $protectedId));
    if (!empty($r['Dropped'])) {  // a refusal with a status of its own: the library keeps only that
        return array('Success' => $r['Success'], 'HTTPStatus' => $r['HTTPStatus']);
    }
    return array('Success' => $r['Success'], 'ErrorCode' => $r['Success'] ? null : $r['ErrorCode'][0]);
});
step($report, 'unknown_command', function () use ($api) {
    $r = $api->post('user.senderdomain.nothing');
    return array('Success' => $r['Success'], 'HTTPStatus' => isset($r['HTTPStatus']) ? $r['HTTPStatus'] : 200);
});
step($report, 'failed_login', function () use ($base, $username) {
    $other = new OctethClient($base);
    $r = $other->post('user.login', array('Username' => $username, 'Password' => 'not-the-password'));
    return array('Success' => $r['Success'], 'ErrorCode' => $r['Success'] ? null : $r['ErrorCode'][0]);
});

echo json_encode($report), "\n";
