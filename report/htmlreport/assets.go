package htmlreport

// css is the page's style sheet: light by default, dark with
// prefers-color-scheme, and a print layout. Pattern classes p0… follow
// analyzer.Pattern's order; colour only doubles what the text says.
const css = `:root{--bg:#fff;--fg:#1b1b1f;--mute:#5c5f66;--line:#d0d3d9;--card:#f6f7f9;--link:#0b57d0;
--p0:#8d99ae;--p1:#2a9d8f;--p2:#4c9be8;--p3:#7b61ff;--p4:#d62828;--p5:#f77f00;--p6:#9d0208;--p7:#b5838d;--p8:#6c757d;--p9:#e9c46a;--p10:#bc6c25;
--warn:#b26a00;--err:#c1121f;--info:#3a6ea5}
@media (prefers-color-scheme:dark){:root{--bg:#15171a;--fg:#e6e6e6;--mute:#a0a4ab;--line:#3a3f47;--card:#1e2227;--link:#8ab4f8;
--p0:#8d99ae;--p1:#52c7b8;--p2:#74b3f0;--p3:#a08cff;--p4:#ff6b6b;--p5:#ffa94d;--p6:#e5383b;--p7:#d4a5ae;--p8:#adb5bd;--p9:#f1d58a;--p10:#dda15e;
--warn:#ffb74d;--err:#ff6b6b;--info:#8ab4f8}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1200px;margin:0 auto;padding:0 16px 48px}
nav{position:sticky;top:0;z-index:2;background:var(--card);border-bottom:1px solid var(--line);padding:6px 16px}
nav a{margin-right:14px}
a{color:var(--link)}
[id]{scroll-margin-top:40px}
h1{font-size:22px;margin:16px 0 8px;word-break:break-all}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:14px 0 6px}
code,pre,td,.tag{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
dl.capture{display:flex;flex-wrap:wrap;gap:4px 24px;margin:0}
dl.capture div{display:flex;gap:6px}
dt{color:var(--mute)}
dd{margin:0}
.charts{display:flex;flex-wrap:wrap;gap:8px 32px}
figure{margin:12px 0}
figcaption{font-weight:600;margin-bottom:4px}
svg:not(.ladder) text{fill:var(--fg);font:12px system-ui,sans-serif}
svg text.axis,svg text.lane{fill:var(--mute)}
svg .grid{stroke:var(--line);stroke-width:1}
.bars svg rect{fill:var(--info)}
.p0 rect,.p0{--c:var(--p0)}.p1 rect,.p1{--c:var(--p1)}.p2 rect,.p2{--c:var(--p2)}.p3 rect,.p3{--c:var(--p3)}.p4 rect,.p4{--c:var(--p4)}.p5 rect,.p5{--c:var(--p5)}
.p6 rect,.p6{--c:var(--p6)}.p7 rect,.p7{--c:var(--p7)}.p8 rect,.p8{--c:var(--p8)}.p9 rect,.p9{--c:var(--p9)}.p10 rect,.p10{--c:var(--p10)}
svg g[class^="p"] rect{fill:var(--c)}
svg g.lane-anom rect{fill:var(--err)}
svg g.sev0 rect{fill:var(--info)}svg g.sev1 rect{fill:var(--warn)}svg g.sev2 rect{fill:var(--err)}
svg g.c0 rect{fill:var(--p0)}svg g.c1 rect{fill:var(--p2)}svg g.c2 rect{fill:var(--p1)}svg g.c3 rect{fill:var(--p3)}
.tag{display:inline-block;border-left:4px solid var(--c,var(--line));background:var(--card);padding:0 5px;margin:1px 0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px 12px}
.card h3{margin-top:2px}
.card p{margin:4px 0}
.pop svg .axisl{stroke:var(--mute)}
.ser{fill:none;stroke-width:2}
.ser.tw{stroke:var(--p2)}.ser.cw{stroke:var(--err);stroke-dasharray:6 3}.ser.fw2{stroke:var(--p5);stroke-dasharray:2 3}.ser.orph{stroke:var(--p3);stroke-dasharray:8 3 2 3}
.key{margin-right:12px;font-weight:normal;white-space:nowrap}
.meter .track{fill:var(--line)}.meter .fill{fill:var(--warn)}
table.data{border-collapse:collapse;width:100%;margin:6px 0}
table.data th,table.data td{border-bottom:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top}
table.data th{background:var(--card);position:sticky;top:34px;cursor:pointer;font-size:12.5px}
table.data .num{text-align:right}
th[aria-sort="ascending"]::after{content:" ▲"}th[aria-sort="descending"]::after{content:" ▼"}
tr.sev1 td:first-child{border-left:4px solid var(--warn)}tr.sev2 td:first-child{border-left:4px double var(--err)}
details.group{border:1px solid var(--line);border-left:4px solid var(--line);border-radius:4px;margin:8px 0;padding:4px 10px;background:var(--card)}
details.group.sev1{border-left:4px solid var(--warn)}details.group.sev2{border-left:6px double var(--err)}
details.group summary{cursor:pointer}
.kinds{font-weight:600}
.verdict{margin:6px 0}
.ladderbox{border-top:1px solid var(--line);padding-top:6px;margin-top:12px}
svg.ladder{max-width:100%;height:auto}
svg.ladder g[data-frame]{cursor:pointer}
.copy{font-size:12px;padding:0 5px;cursor:pointer;background:var(--card);color:var(--fg);border:1px solid var(--line);border-radius:3px}
.copy.done{border-color:var(--p1)}
.filters{display:flex;flex-wrap:wrap;gap:6px 14px;align-items:center;margin:6px 0}
.filters select,.filters input{background:var(--bg);color:var(--fg);border:1px solid var(--line);padding:2px 4px}
.note,.more,.none{color:var(--mute)}
aside#details{position:fixed;right:12px;bottom:12px;max-width:min(560px,90vw);max-height:40vh;overflow:auto;background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px 12px;box-shadow:0 2px 12px rgba(0,0,0,.25);z-index:3}
aside#details pre{white-space:pre-wrap;margin:0}
#dclose{float:right;background:none;border:0;color:var(--fg);font-size:18px;cursor:pointer}
footer{color:var(--mute);text-align:center;padding:16px;font-size:12px}
@media print{nav,.filters,.copy,aside#details,#dclose{display:none!important}
body{background:#fff;color:#000;font-size:11px}
:root{--bg:#fff;--fg:#000;--mute:#444;--line:#bbb;--card:#fff}
table.data th{position:static}
details.group,.ladderbox,.card,figure{break-inside:avoid}
a{color:#000;text-decoration:none}
main{max-width:none}}
`

// script is the page's only JavaScript: copy buttons, the details pane
// of ladder arrows, the flows table's filters and sorting. It stays free
// of "<" and "&" so that the page is also well-formed XML.
const script = `(function(){
var pane=document.getElementById('details'),text=document.getElementById('dtext');
function copy(s,btn){
 function done(){btn.classList.add('done');btn.textContent='copied';setTimeout(function(){btn.classList.remove('done');btn.textContent='copy'},1200)}
 if(navigator.clipboard){navigator.clipboard.writeText(s).then(done,function(){prompt('Wireshark filter',s)})}else{prompt('Wireshark filter',s)}
}
document.addEventListener('click',function(e){
 var t=e.target;if(!t.closest)return;
 var b=t.closest('[data-copy]');if(b){e.preventDefault();copy(b.getAttribute('data-copy'),b);return}
 var g=t.closest('g[data-frame]');
 if(g){var ti=g.querySelector('title');text.textContent='frame '+g.getAttribute('data-frame')+'\n'+(ti?ti.textContent:'');pane.hidden=false;return}
 if(t.id==='dclose'){pane.hidden=true}
});
var tbl=document.getElementById('ft');if(!tbl)return;
var body=tbl.tBodies[0],rows=Array.prototype.slice.call(body.rows),form=document.getElementById('ff'),count=document.getElementById('fcount');
function cell(r,i){return r.cells[i].textContent}
function filter(){
 var p=form.p.value,k=form.k.value,h=form.h.value.trim(),s=form.s.value.trim(),n=0;
 rows.forEach(function(r){
  var ks=' '+cell(r,5)+' ',ok=(!p||cell(r,3)===p)
   ?((!k||(k==='*'?ks.trim()!=='':ks.indexOf(' '+k+' ')!==-1))?((!h||cell(r,1).indexOf(h)!==-1)?(!s||cell(r,2).indexOf(s)!==-1):false):false):false;
  if(r.hidden===ok)r.hidden=!ok;if(ok)n++});
 count.textContent=n+' of '+rows.length+' flows';
}
form.addEventListener('input',filter);form.addEventListener('submit',function(e){e.preventDefault()});
Array.prototype.forEach.call(tbl.tHead.rows[0].cells,function(th,i){
 th.addEventListener('click',function(){
  var asc=th.getAttribute('aria-sort')!=='ascending',num=th.classList.contains('num');
  Array.prototype.forEach.call(tbl.tHead.rows[0].cells,function(o){o.removeAttribute('aria-sort')});
  th.setAttribute('aria-sort',asc?'ascending':'descending');
  rows.sort(function(a,b){var x=cell(a,i),y=cell(b,i),c=num?(parseFloat(x)||0)-(parseFloat(y)||0):x.localeCompare(y);return asc?c:-c});
  rows.forEach(function(r){body.appendChild(r)});
 });
});
count.textContent=rows.length+' flows';
})();`
