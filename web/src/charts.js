// A small line chart on a <canvas>: a few named series over time, y from 0 to the largest value
// seen in the window, a legend. No library: a chart library would be most of the bundle.
const WINDOW_POINTS = 150;  // 5 minutes at one sample every 2 s

export class LineChart {
  constructor(canvas, colors, unit) {
    this.canvas = canvas;
    this.colors = colors;  // series name -> colour
    this.unit = unit;
    this.points = [];      // {t, values: {name: number}}
    this.draws = 0;
  }

  push(t, values) {
    this.points.push({t, values});
    if (this.points.length > WINDOW_POINTS) this.points.shift();
    this.draw();
  }

  draw() {
    const {canvas} = this;
    const context = canvas.getContext("2d");
    const width = canvas.width;
    const height = canvas.height;
    const left = 44;
    const bottom = height - 18;
    const top = 18;
    const style = getComputedStyle(canvas);
    context.clearRect(0, 0, width, height);
    context.font = "11px system-ui, sans-serif";
    context.fillStyle = style.color;
    context.strokeStyle = "#8886";
    context.lineWidth = 1;
    context.beginPath();
    context.moveTo(left, top);
    context.lineTo(left, bottom);
    context.lineTo(width - 4, bottom);
    context.stroke();

    let max = 0;
    for (const point of this.points) {
      for (const value of Object.values(point.values)) max = Math.max(max, value);
    }
    max = max > 0 ? max * 1.1 : 1;
    context.fillText(`${formatNumber(max)} ${this.unit}`, 2, top + 4);
    context.fillText("0", 30, bottom);
    if (this.points.length === 0) context.fillText("waiting for samples…", left + 8, (top + bottom) / 2);

    const span = Math.max(1, this.points.length - 1);
    const x = (i) => left + (width - 4 - left) * (this.points.length === 1 ? 1 : i / span);
    const y = (value) => bottom - (bottom - top) * (value / max);
    let legend = left + 4;
    for (const [name, colour] of Object.entries(this.colors)) {
      context.strokeStyle = colour;
      context.fillStyle = colour;
      context.lineWidth = 2;
      context.beginPath();
      let started = false;
      this.points.forEach((point, i) => {
        const value = point.values[name];
        if (value === undefined) return;
        if (started) context.lineTo(x(i), y(value));
        else context.moveTo(x(i), y(value));
        started = true;
      });
      context.stroke();
      if (this.points.length === 1 && started) context.fillRect(x(0) - 2, y(this.points[0].values[name] ?? 0) - 2, 4, 4);
      context.fillText(name, legend, 11);
      legend += context.measureText(name).width + 12;
    }
    this.draws++;
    canvas.dataset.points = String(this.points.length);
  }
}

function formatNumber(value) {
  if (value >= 100) return value.toFixed(0);
  if (value >= 1) return value.toFixed(1);
  return value.toPrecision(2);
}
