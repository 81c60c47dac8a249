export declare const DOCUMENT_REQUEST: Readonly<{ accept: 'text/html'; 'sec-fetch-dest': 'document' }>
export declare const SCRIPT_REQUEST: Readonly<{ accept: '*/*'; 'sec-fetch-dest': 'script' }>
export declare const STYLE_REQUEST: Readonly<{ accept: 'text/css,*/*;q=0.1'; 'sec-fetch-dest': 'style' }>
